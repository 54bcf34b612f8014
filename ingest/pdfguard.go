package ingest

import (
	"bytes"
	"strconv"
)

// checkPDFSizes rejects a PDF whose cross-reference data declares sizes no
// file of this length can have. The PDF library allocates tables of the
// declared sizes before checking them against the file, so a damaged or
// hostile header ("xref 0 9999999999", "/Size 1e12") would otherwise take
// all memory. Every object needs at least a dozen bytes, so an object number
// or count above len(data)/8 cannot be real; field widths of an xref stream
// are at most 8 bytes.
func checkPDFSizes(data []byte) error {
	limit := int64(len(data)/8 + 64)
	tooBig := func(n int64) bool { return n < 0 || n > limit }

	for _, key := range []string{"/Size", "/Count", "/N", "/Length"} {
		for _, n := range numbersAfter(data, key, 1) {
			if key == "/Length" && n <= int64(len(data)) || key != "/Length" && !tooBig(n) {
				continue
			}
			return unreadable(nil, "is not a readable PDF (it declares %s %d, impossible in a file of %d bytes)", key, n, len(data))
		}
	}
	for _, n := range numbersAfter(data, "/Index", -1) {
		if tooBig(n) {
			return unreadable(nil, "is not a readable PDF (its cross-reference index is damaged)")
		}
	}
	for _, n := range numbersAfter(data, "/W", -1) {
		if n < 0 || n > 8 {
			return unreadable(nil, "is not a readable PDF (its cross-reference stream is damaged)")
		}
	}
	for _, n := range xrefHeaders(data) {
		if tooBig(n) {
			return unreadable(nil, "is not a readable PDF (its cross-reference table is damaged)")
		}
	}
	return nil
}

// numbersAfter returns the integers that follow each occurrence of key: the
// first count of them, or all inside a following [...] array when count is
// negative. A number too long for int64 is returned as -1.
func numbersAfter(data []byte, key string, count int) []int64 {
	var out []int64
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(key))
		if j < 0 {
			return out
		}
		p := i + j + len(key)
		i = p
		if p < len(data) && isNameChar(data[p]) {
			continue // a longer name such as /SizeX
		}
		p = skipSpace(data, p)
		if count < 0 {
			if p >= len(data) || data[p] != '[' {
				continue
			}
			p++
		}
		for k := 0; count < 0 || k < count; k++ {
			p = skipSpace(data, p)
			n, next, ok := readInt(data, p)
			if !ok {
				break
			}
			out = append(out, n)
			p = next
		}
	}
}

// xrefHeaders returns the "start count" numbers of every subsection of every
// classic cross-reference table.
func xrefHeaders(data []byte) []int64 {
	var out []int64
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("xref"))
		if j < 0 {
			return out
		}
		p := i + j + 4
		i = p
		if i-4 >= 5 && string(data[i-9:i-4]) == "start" {
			continue
		}
		for {
			start, p1, ok1 := readInt(data, skipSpace(data, p))
			n, p2, ok2 := readInt(data, skipSpace(data, p1))
			if !ok1 || !ok2 {
				break
			}
			out = append(out, start, n)
			if n < 0 || n > int64(len(data)) {
				break
			}
			// Skip the n entries, three tokens each.
			p = p2
			for k := int64(0); k < 3*n; k++ {
				p = skipToken(data, skipSpace(data, p))
			}
		}
	}
}

func readInt(data []byte, p int) (int64, int, bool) {
	e := p
	for e < len(data) && data[e] >= '0' && data[e] <= '9' {
		e++
	}
	if e == p || e < len(data) && (data[e] == '.' || isNameChar(data[e]) && !isDigit(data[e])) {
		return 0, p, false
	}
	n, err := strconv.ParseInt(string(data[p:e]), 10, 64)
	if err != nil {
		return -1, e, true
	}
	return n, e, true
}

func skipSpace(data []byte, p int) int {
	for p < len(data) && isPDFSpace(data[p]) {
		p++
	}
	return p
}

func skipToken(data []byte, p int) int {
	for p < len(data) && !isPDFSpace(data[p]) {
		p++
	}
	return p
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameChar(c byte) bool {
	return c > ' ' && c < 0x7f && !bytes.ContainsRune([]byte("()<>[]{}/%"), rune(c))
}
