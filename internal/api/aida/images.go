package aida

import (
	"bytes"
	"errors"
	"image"
	_ "image/gif" // registers GIF for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/phoenix"
	"switchboard/internal/store"
)

func imagePath(id string) string { return "/content/image/" + id }

// imageError writes AIDA's error shape for the image endpoints: {"errors": message}.
func imageError(w http.ResponseWriter, status int, msg string) {
	respond.JSON(w, status, map[string]string{"errors": msg})
}

func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func preflight(w http.ResponseWriter, r *http.Request) {
	cors(w)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// uploadImage stores the multipart field "file" as an image of the bot's
// session and answers {"id": …}.
func (s *Surface) uploadImage(w http.ResponseWriter, r *http.Request) {
	cors(w)
	botID, chatID := r.PathValue("bot"), r.PathValue("session")
	// Check the session before reading a body of up to MaxImageBytes.
	if _, err := s.lookup(r.Context(), botID, chatID); err != nil {
		var re *phoenix.ReplyError
		if errors.As(err, &re) && re.Reason == reasonUnavailable {
			imageError(w, http.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		imageError(w, http.StatusUnprocessableEntity, "Unknown session")
		return
	}
	data, err := s.readFilePart(r)
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			imageError(w, respond.Status(err), ce.Message)
			return
		}
		s.log.Warn("aida: reading upload", "err", err)
		imageError(w, http.StatusBadRequest, "cannot read the upload")
		return
	}
	ctype, width, height, ok := sniffImage(data)
	if !ok {
		imageError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	img, err := s.hub.AddSessionImage(r.Context(), store.Image{BotID: botID, ChatID: chatID, ContentType: ctype, Width: width, Height: height, Bytes: data})
	if err != nil {
		if core.IsCode(err, core.ENotFound) {
			imageError(w, http.StatusUnprocessableEntity, "Unknown session")
			return
		}
		s.log.Error("aida: store image", "err", err)
		imageError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"id": img.ID})
}

// readFilePart reads the multipart field "file", at most MaxImageBytes of it.
func (s *Surface) readFilePart(r *http.Request) ([]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "a multipart/form-data body with a file field is required")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, core.Errorf(core.EInvalid, "the file field is required")
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if part.FormName() != "file" {
			_, _ = io.Copy(io.Discard, part)
			continue
		}
		return s.readLimited(part)
	}
}

func (s *Surface) readLimited(part *multipart.Part) ([]byte, error) {
	max := s.cfg.MaxImageBytes
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(part, max+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if n > max {
		return nil, tooLarge(max)
	}
	return buf.Bytes(), nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return core.Errorf(core.ETooLarge, "Request Entity Too Large")
	}
	return core.Errorf(core.EInvalid, "malformed multipart body")
}

func tooLarge(max int64) error {
	return core.Errorf(core.ETooLarge, "Request Entity Too Large: images may have at most %s bytes", strconv.FormatInt(max, 10))
}

// getImage serves an image's bytes with their content type; 404 with an
// empty body when there is no such image (as AIDA).
func (s *Surface) getImage(w http.ResponseWriter, r *http.Request) {
	cors(w)
	id := r.PathValue("id")
	if !isID(id) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	img, err := s.hub.Image(r.Context(), id)
	if core.IsCode(err, core.ENotFound) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("aida: load image", "err", err)
		imageError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	h := w.Header()
	h.Set("Content-Type", img.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(img.Bytes)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=86400, immutable")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img.Bytes)
}

// sniffImage decides from the bytes alone whether data is a PNG, JPEG, GIF
// or WebP image, and returns its content type (and size when the header
// says it). The declared part type is ignored: a client cannot make text an
// image by calling it one.
func sniffImage(data []byte) (ctype string, width, height int, ok bool) {
	detected := http.DetectContentType(data)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		ctype = "image/png"
	case len(data) > 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		ctype = "image/jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		ctype = "image/gif"
	case len(data) >= 16 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP" && string(data[12:15]) == "VP8":
		// No WebP decoder in the standard library: the RIFF container with a
		// VP8/VP8L/VP8X first chunk is the check.
		return "image/webp", 0, 0, detected == "image/webp"
	default:
		return "", 0, 0, false
	}
	if detected != ctype {
		return "", 0, 0, false
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, 0, false
	}
	return ctype, cfg.Width, cfg.Height, true
}
