package ingest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// extractJSON renders a JSON value as "key: value" lines, nested values
// indented under their key and array items as list items. An array of
// objects becomes one paragraph per object.
func extractJSON(text string) (*Document, error) {
	v, err := parseJSON(text)
	if err != nil {
		return nil, unreadable(err, "is not valid JSON")
	}
	var b strings.Builder
	renderRecords(&b, v)
	return &Document{Text: b.String()}, nil
}

// extractJSONL renders each line of JSON Lines as its own paragraph.
func extractJSONL(text string) (*Document, error) {
	var b strings.Builder
	for n, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		v, err := parseJSON(line)
		if err != nil {
			return nil, unreadable(err, "is not valid JSON Lines: line %d", n+1)
		}
		renderRecords(&b, v)
	}
	return &Document{Text: b.String()}, nil
}

// parseJSON decodes one JSON value, keeping numbers as written and object
// keys in their original order.
func parseJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

// field is one member of a JSON object, in document order.
type field struct {
	key   string
	value any
}

// decodeOrdered reads a value from dec, objects as []field.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var obj []field
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, field{key: k.(string), value: v})
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

// renderRecords writes an array's items, or a single value, as paragraphs.
func renderRecords(b *strings.Builder, v any) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	for _, item := range items {
		renderValue(b, item, 0)
		b.WriteString("\n")
	}
}

// renderValue writes v at the given indentation depth.
func renderValue(b *strings.Builder, v any, depth int) {
	pad := strings.Repeat("  ", depth)
	switch v := v.(type) {
	case []field:
		for _, f := range v {
			if s, ok := scalar(f.value); ok {
				fmt.Fprintf(b, "%s%s: %s\n", pad, f.key, s)
				continue
			}
			fmt.Fprintf(b, "%s%s:\n", pad, f.key)
			renderValue(b, f.value, depth+1)
		}
	case []any:
		for _, item := range v {
			if s, ok := scalar(item); ok {
				fmt.Fprintf(b, "%s- %s\n", pad, s)
				continue
			}
			fmt.Fprintf(b, "%s-\n", pad)
			renderValue(b, item, depth+1)
		}
	default:
		s, _ := scalar(v)
		fmt.Fprintf(b, "%s%s\n", pad, s)
	}
}

// scalar returns the text of a string, number, boolean or null, with line
// breaks flattened, and whether v was one.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return strings.Join(strings.Fields(v), " "), true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "null", true
	}
	return "", false
}

// extractCSV renders comma-, semicolon- or tab-separated values as a table
// whose first row is the header.
func extractCSV(text string) (*Document, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sniffDelimiter(text)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, unreadable(err, "is not valid CSV")
	}
	var b strings.Builder
	for i, row := range rows {
		writeRow(&b, row)
		if i == 0 {
			writeRule(&b, len(row))
		}
	}
	return &Document{Text: b.String()}, nil
}

// sniffDelimiter picks the separator that occurs most often on the first
// line among comma, semicolon and tab.
func sniffDelimiter(text string) rune {
	first, _, _ := strings.Cut(text, "\n")
	best, count := ',', strings.Count(first, ",")
	for _, c := range []rune{';', '\t'} {
		if n := strings.Count(first, string(c)); n > count {
			best, count = c, n
		}
	}
	return best
}

// writeRow writes cells as a table row "| a | b |".
func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		c = strings.ReplaceAll(strings.Join(strings.Fields(c), " "), "|", `\|`)
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n")
}

// writeRule writes the line that separates a table's header from its body.
func writeRule(b *strings.Builder, n int) {
	b.WriteString("|" + strings.Repeat(" --- |", max(n, 1)) + "\n")
}

// extractXML renders the text of an XML document: an element holding only
// short text becomes "name: text", longer text a paragraph, an attribute
// "name: value", and a container's end a paragraph break.
func extractXML(text string) (*Document, error) {
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	dec.CharsetReader = func(charset string, in io.Reader) (io.Reader, error) {
		return in, nil // already decoded to UTF-8
	}
	var (
		b        strings.Builder
		stack    []string
		hasChild []bool
		pending  bytes.Buffer
		sawRoot  bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, unreadable(err, "is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			sawRoot = true
			flushXMLText(&b, "", &pending)
			if len(hasChild) > 0 {
				hasChild[len(hasChild)-1] = true
			}
			stack = append(stack, t.Name.Local)
			hasChild = append(hasChild, false)
			for _, a := range t.Attr {
				if v := strings.Join(strings.Fields(a.Value), " "); a.Name.Space != "xmlns" && a.Name.Local != "xmlns" && v != "" && len(v) <= 120 {
					fmt.Fprintf(&b, "%s: %s\n", a.Name.Local, v)
				}
			}
		case xml.CharData:
			pending.Write(t)
		case xml.EndElement:
			name, leaf := stack[len(stack)-1], !hasChild[len(hasChild)-1]
			stack, hasChild = stack[:len(stack)-1], hasChild[:len(hasChild)-1]
			if leaf {
				flushXMLText(&b, name, &pending)
			} else {
				flushXMLText(&b, "", &pending)
				b.WriteString("\n")
			}
		}
	}
	if !sawRoot {
		return nil, unreadable(nil, "is not XML: it has no root element")
	}
	return &Document{Text: b.String()}, nil
}

// flushXMLText writes the pending character data, labelled with the element
// name when it is short, and empties the buffer.
func flushXMLText(b *strings.Builder, name string, pending *bytes.Buffer) {
	s := strings.Join(strings.Fields(pending.String()), " ")
	pending.Reset()
	switch {
	case s == "":
	case name != "" && len(s) <= 120:
		fmt.Fprintf(b, "%s: %s\n", name, s)
	default:
		b.WriteString(s + "\n\n")
	}
}
