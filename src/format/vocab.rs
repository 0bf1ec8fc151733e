//! Closed vocabularies as types: finding codes, note codes, row operations, page roles, lock
//! names... Each is an enum whose variants serialise to the stable strings the JSON contract
//! and the docs use, so a typo is a compile error instead of a silently different string, and
//! docs and tests iterate [`ALL`](crate::format::vocab) instead of a hand-kept list.

/// Define a closed vocabulary: an enum, its stable strings, `ALL`, `as_str`, `parse`,
/// `Display` and `serde::Serialize` (as the string).
///
/// ```ignore
/// vocabulary! {
///     /// Row operations.
///     pub enum Op { Insert = "insert", Delete = "delete" }
/// }
/// ```
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $s:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant ),+ ];

            /// The stable string (the JSON value and the documented name).
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $s ),+ }
            }

            /// The value whose stable string is `s`.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $( $s => Some(Self::$variant), )+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

#[cfg(test)]
mod tests {
    vocabulary! {
        /// A test vocabulary.
        pub enum Fruit { Apple = "apple", Pear = "pear" }
    }

    #[test]
    fn strings_round_trip() {
        for f in Fruit::ALL {
            assert_eq!(Fruit::parse(f.as_str()), Some(*f));
            assert_eq!(f.to_string(), f.as_str());
            assert_eq!(serde_json::to_string(f).unwrap(), format!("\"{}\"", f.as_str()));
        }
        assert_eq!(Fruit::parse("plum"), None);
    }
}
