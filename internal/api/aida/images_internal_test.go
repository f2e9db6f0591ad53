package aida

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestSniffImageTrustsOnlyTheBytes(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	var p, j, g bytes.Buffer
	_ = png.Encode(&p, img)
	_ = jpeg.Encode(&j, img, nil)
	_ = gif.Encode(&g, img, nil)
	webp := append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"), make([]byte, 13)...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"png", p.Bytes(), "image/png"},
		{"jpeg", j.Bytes(), "image/jpeg"},
		{"gif", g.Bytes(), "image/gif"},
		{"webp", webp, "image/webp"},
		{"text", []byte("GIF is a format, this is text"), ""},
		{"png magic, broken header", []byte("\x89PNG\r\n\x1a\nrubbish"), ""},
		{"html", []byte("<html><img src=x></html>"), ""},
		{"svg (script-capable, refused)", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), ""},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, w, h, ok := sniffImage(tc.data)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("sniff = %q %v, want %q", got, ok, tc.want)
			}
			if ok && tc.want != "image/webp" && (w != 4 || h != 3) {
				t.Fatalf("size %dx%d, want 4x3", w, h)
			}
		})
	}
}
