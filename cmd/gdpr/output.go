package main

import "encoding/json"

// writeJSON writes v as indented JSON, a line at the end.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
