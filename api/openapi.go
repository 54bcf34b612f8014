package api

import (
	"net/http"
	"reflect"
	"strings"
)

// openAPI builds the OpenAPI 3.1 document from the route table, so that it
// describes exactly the routes the mux serves.
func (s *Server) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		item := paths[rt.path]
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = operation(rt)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "attune",
			"version":     "3",
			"description": "Self-hosted domain alignment: NuGen's Domain Alignment API and OpenAI-compatible inference.",
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer"},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
	}
}

// operation describes one route.
func operation(rt route) map[string]any {
	op := map[string]any{
		"operationId": operationID(rt),
		"summary":     rt.summary,
		"tags":        []string{rt.tag},
		"responses":   responses(rt),
	}
	if rt.aliasOf != "" {
		op["description"] = "Alias of " + rt.aliasOf + "."
	}
	if rt.access == accessPublic {
		op["security"] = []any{}
	}
	var params []any
	for _, name := range rt.pathParams() {
		params = append(params, map[string]any{
			"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		})
	}
	for _, name := range rt.query {
		params = append(params, map[string]any{
			"name": name, "in": "query", "required": false, "schema": queryParamSchema(name),
		})
	}
	if params != nil {
		op["parameters"] = params
	}
	switch {
	case rt.body != nil:
		op["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.body))}},
		}
	case rt.multipart != nil:
		props := map[string]any{}
		for _, f := range rt.multipart {
			props[f] = map[string]any{"type": "string"}
		}
		op["requestBody"] = map[string]any{
			"required": true,
			"content": map[string]any{"multipart/form-data": map[string]any{
				"schema": map[string]any{"type": "object", "properties": props},
			}},
		}
	}
	return op
}

func responses(rt route) map[string]any {
	errBody := map[string]any{"description": "error: {\"detail\": ...}"}
	r := map[string]any{"200": map[string]any{"description": "OK"}}
	if rt.access != accessPublic {
		r["401"] = errBody
		r["429"] = errBody
	}
	if rt.body != nil || rt.multipart != nil || rt.query != nil {
		r["422"] = errBody
	}
	if len(rt.pathParams()) > 0 {
		r["404"] = errBody
	}
	return r
}

// operationID names a route uniquely from its method and path.
func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, r := range rt.path {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '{' || r == '}':
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func queryParamSchema(name string) map[string]any {
	switch name {
	case "limit":
		return map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}
	case "offset":
		return map[string]any{"type": "integer", "minimum": 0, "default": 0}
	case "early":
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{"type": "string"}
}

// schemaOf describes a Go type as a JSON schema, from its json tags.
// Types that take several JSON shapes describe themselves through an
// openAPISchema method.
func schemaOf(t reflect.Type) map[string]any {
	if m, ok := reflect.New(t).Elem().Interface().(interface{ openAPISchema() map[string]any }); ok {
		return m.openAPISchema()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		return structSchema(t)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// An embedded struct's fields are the outer struct's.
			inner := structSchema(f.Type)["properties"].(map[string]any)
			for k, v := range inner {
				props[k] = v
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// handleOpenAPI answers GET /openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.openAPI())
	return nil
}
