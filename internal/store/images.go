package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard/internal/core"
)

// Image is an image uploaded to a bot's session (a chat), with its bytes.
type Image struct {
	ID          string
	BotID       string
	ChatID      string
	ContentType string
	Width       int // pixels, 0 when unknown
	Height      int
	Bytes       []byte
	CreatedAt   time.Time
}

// InsertImage stores an image.
func (c Conn) InsertImage(ctx context.Context, img Image) error {
	_, err := c.exec(ctx, "INSERT INTO images (id, bot_id, chat_id, content_type, size, width, height, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		img.ID, img.BotID, img.ChatID, img.ContentType, int64(len(img.Bytes)), img.Width, img.Height, img.Bytes, micros(img.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert image: %w", err)
	}
	return nil
}

// Image loads an image with its bytes.
func (c Conn) Image(ctx context.Context, id string) (Image, error) {
	img := Image{ID: id}
	var created int64
	err := c.queryRow(ctx, "SELECT bot_id, chat_id, content_type, width, height, bytes, created_at FROM images WHERE id = ?", id).
		Scan(&img.BotID, &img.ChatID, &img.ContentType, &img.Width, &img.Height, &img.Bytes, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return img, core.Errorf(core.ENotFound, "image not found")
	}
	if err != nil {
		return img, fmt.Errorf("store: image: %w", err)
	}
	img.CreatedAt = fromMicros(created)
	return img, nil
}

// ImageInfo loads an image without its bytes (Bytes stays nil); size is its length in bytes.
func (c Conn) ImageInfo(ctx context.Context, id string) (img Image, size int64, err error) {
	img.ID = id
	var created int64
	err = c.queryRow(ctx, "SELECT bot_id, chat_id, content_type, width, height, size, created_at FROM images WHERE id = ?", id).
		Scan(&img.BotID, &img.ChatID, &img.ContentType, &img.Width, &img.Height, &size, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return img, 0, core.Errorf(core.ENotFound, "image not found")
	}
	if err != nil {
		return img, 0, fmt.Errorf("store: image info: %w", err)
	}
	img.CreatedAt = fromMicros(created)
	return img, size, nil
}

// DeleteChatImages removes every image of a chat.
func (c Conn) DeleteChatImages(ctx context.Context, chatID string) error {
	if _, err := c.exec(ctx, "DELETE FROM images WHERE chat_id = ?", chatID); err != nil {
		return fmt.Errorf("store: delete chat images: %w", err)
	}
	return nil
}
