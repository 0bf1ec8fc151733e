CREATE TABLE c(/* comment */ a -- line
, b VARCHAR(20), "]52;c;QQ==‮" TEXT)