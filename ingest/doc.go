// Package ingest turns uploaded files into plain text that keeps the
// document's structure, and splits that text into token-counted chunks.
//
// Extract reads every accepted file type (.txt .md .json .jsonl .csv .xml
// .html .pdf .docx). Whatever the input format, the text it returns uses one
// small Markdown-like vocabulary so that later stages need to know only one:
//
//	# Heading            headings, one '#' per level
//	- item               list items, indented two spaces per nesting level
//	| cell | cell |      table rows, the first row of a table its header
//	key: value           fields of JSON, JSONL and XML records
//
// Paragraphs are separated by one blank line; line ends are "\n".
//
// A file that cannot be read fails with an attune.Error of kind Invalid
// whose message says what is wrong in words a person understands (a corrupt
// PDF, binary data named .txt, an empty document, an unsupported type).
//
// Split cuts the text into chunks of at most a given number of tokens,
// breaking at headings and paragraphs and overlapping neighbours, each chunk
// remembering its document, index, byte and line position and heading path.
package ingest
