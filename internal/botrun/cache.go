package botrun

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"switchboard/internal/brain"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// brains caches parsed manifests per bot. An entry is keyed by the hash of
// the stored manifest, so an update made on any node is picked up on the
// next message (the stored row is read each time; parsing is what is
// saved). Bots without a brain are remembered as such until Forget.
type brains struct {
	hub *hub.Hub

	mu      sync.RWMutex
	m       map[string]brainEntry
	noBrain map[string]time.Time // bots seen without a brain, and when
}

// noBrainTTL is how long a bot seen without a brain is not looked up again
// on this node (a manifest uploaded through another node takes effect
// within it; through this node at once, see forget).
const noBrainTTL = 5 * time.Second

type brainEntry struct {
	sum      [32]byte
	manifest *brain.Manifest
	row      store.BotBrain
}

func newBrains(h *hub.Hub) *brains {
	return &brains{hub: h, m: map[string]brainEntry{}, noBrain: map[string]time.Time{}}
}

// get returns a bot's parsed manifest and its stored row; ok is false when
// the bot has no brain.
func (b *brains) get(ctx context.Context, botID string) (*brain.Manifest, store.BotBrain, bool, error) {
	row, err := b.hub.BotBrain(ctx, botID)
	if core.IsCode(err, core.ENotFound) {
		b.mu.Lock()
		if len(b.noBrain) > 100_000 {
			clear(b.noBrain) // bounded; entries are only a shortcut
		}
		b.noBrain[botID] = time.Now()
		delete(b.m, botID)
		b.mu.Unlock()
		return nil, store.BotBrain{}, false, nil
	}
	if err != nil {
		return nil, store.BotBrain{}, false, err
	}
	sum := sha256.Sum256(row.Manifest)
	b.mu.RLock()
	e, ok := b.m[botID]
	b.mu.RUnlock()
	if ok && e.sum == sum {
		e.row = row
		return e.manifest, row, true, nil
	}
	m, err := brain.Parse(row.Manifest)
	if err != nil {
		// Stored manifests were valid on upload; a stricter brain refuses it.
		return nil, row, false, fmt.Errorf("botrun: stored manifest of bot %s no longer valid: %w", botID, err)
	}
	b.mu.Lock()
	b.m[botID] = brainEntry{sum: sum, manifest: m, row: row}
	b.mu.Unlock()
	return m, row, true, nil
}

// isBrainBot reports whether a bot with a brain was seen on this node (a
// cheap filter for the bus handler: its own answers need no lookup).
func (b *brains) isBrainBot(id string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.m[id]
	return ok
}

// brainless reports whether a bot was seen without a brain lately, so it
// need not be looked up again.
func (b *brains) brainless(id string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	at, ok := b.noBrain[id]
	return ok && time.Since(at) < noBrainTTL
}

// forget drops a bot's entries (after an update through this node).
func (b *brains) forget(botID string) {
	b.mu.Lock()
	delete(b.m, botID)
	delete(b.noBrain, botID)
	b.mu.Unlock()
}

func ignoreNotFound(err error) error {
	if core.IsCode(err, core.ENotFound) {
		return nil
	}
	return err
}
