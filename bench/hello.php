<?php
// hello.php: row (c) of the benchmark; the same bytes as examples/hello.
header('Content-Type: text/plain; charset=utf-8');
header('Content-Length: 14');
echo "Hello, World!\n";
