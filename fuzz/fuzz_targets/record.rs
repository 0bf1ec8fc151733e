//! Record decoding (varint header, every serial type, text in each encoding).
#![no_main]
use libfuzzer_sys::fuzz_target;
use walinspect::format::record::{TextEncoding, decode_record};

fuzz_target!(|data: &[u8]| {
    for enc in [TextEncoding::Utf8, TextEncoding::Utf16le, TextEncoding::Utf16be] {
        let _ = decode_record(data, enc);
    }
});
