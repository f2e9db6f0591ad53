package store

import (
	"encoding/json"
	"fmt"
)

// jsonText encodes v for a TEXT column; nil maps become "{}".
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("store: encode json: %w", err)
	}
	if string(b) == "null" {
		return "{}", nil
	}
	return string(b), nil
}

// decodeJSON decodes a TEXT column into v; an empty column leaves v alone.
func decodeJSON(src string, v any) error {
	if src == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(src), v); err != nil {
		return fmt.Errorf("store: decode json: %w", err)
	}
	return nil
}
