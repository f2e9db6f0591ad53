package console

import (
	"bytes"
	"errors"
	"image"
	_ "image/gif" // registers GIF for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/store"
)

// allowedType reports whether an agent may send a file of this sniffed type
// (the declared type is ignored). Files are served by /content/image/{id}
// with X-Content-Type-Options: nosniff, so nothing uploaded runs as a page.
func allowedType(ctype string) bool {
	switch ctype {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain; charset=utf-8":
		return true
	}
	return false
}

// uploadFile stores the multipart field "file" for a chat the agent is in
// (?chat_id=…) and answers the fields of a chat.io file event: {url, name,
// content_type, size, width?, height?}. The page then sends the event with
// send_event.
func (a *API) uploadFile(w http.ResponseWriter, r *http.Request, c caller) error {
	chatID := r.URL.Query().Get("chat_id")
	if chatID == "" {
		return core.Errorf(core.EInvalid, "chat_id is required")
	}
	name, data, err := a.readFile(r)
	if err != nil {
		return err
	}
	ctype := http.DetectContentType(data)
	if !allowedType(ctype) {
		return core.Errorf(core.EUnsupported, "files of type %s cannot be sent (images, PDF and plain text can)", strings.SplitN(ctype, ";", 2)[0])
	}
	img := store.Image{ChatID: chatID, ContentType: ctype, Bytes: data}
	if strings.HasPrefix(ctype, "image/") && ctype != "image/webp" {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return core.Errorf(core.EUnsupported, "the image cannot be decoded")
		}
		img.Width, img.Height = cfg.Width, cfg.Height
	}
	img, err = a.hub.AddAgentFile(r.Context(), c.user.ID, img)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusCreated, map[string]any{
		"url": "/content/image/" + img.ID, "name": name, "content_type": ctype, "size": len(data),
		"width": img.Width, "height": img.Height,
	})
	return nil
}

// readFile reads the multipart field "file", at most MaxFileBytes of it,
// and its file name (base name only).
func (a *API) readFile(r *http.Request) (string, []byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, core.Errorf(core.EInvalid, "a multipart/form-data body with a file field is required")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil, core.Errorf(core.EInvalid, "the file field is required")
		}
		if err != nil {
			return "", nil, bodyError(err)
		}
		if part.FormName() != "file" {
			_, _ = io.Copy(io.Discard, part)
			continue
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(part, a.cfg.MaxFileBytes+1))
		if err != nil {
			return "", nil, bodyError(err)
		}
		if n > a.cfg.MaxFileBytes {
			return "", nil, core.Errorf(core.ETooLarge, "files may have at most %d bytes", a.cfg.MaxFileBytes)
		}
		if n == 0 {
			return "", nil, core.Errorf(core.EInvalid, "the file is empty")
		}
		return fileName(part.FileName()), buf.Bytes(), nil
	}
}

func fileName(n string) string {
	n = filepath.Base(strings.ReplaceAll(n, "\\", "/"))
	if n == "." || n == "/" || n == "" {
		return "file"
	}
	if len(n) > 200 {
		ext := filepath.Ext(n)
		if len(ext) > 20 {
			ext = ""
		}
		n = n[:200-len(ext)] + ext
	}
	return n
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return core.Errorf(core.ETooLarge, "the upload is larger than %d bytes", mbe.Limit)
	}
	return core.Errorf(core.EInvalid, "malformed multipart body")
}
