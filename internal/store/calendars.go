package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/internal/core"
)

// StoredCalendar is a business-hours calendar as stored: the hours
// package's JSON form, keyed by project and country.
type StoredCalendar struct {
	Project   string // lowercase key
	Country   string // lowercase
	Config    []byte // hours.Config as JSON
	UpdatedAt time.Time
}

// CalendarKey normalises a project and country to the stored key.
func CalendarKey(project, country string) (string, string) {
	return strings.ToLower(strings.TrimSpace(project)), strings.ToLower(strings.TrimSpace(country))
}

// PutCalendar inserts or replaces the calendar of a project and country.
func (c Conn) PutCalendar(ctx context.Context, cal StoredCalendar) error {
	p, cc := CalendarKey(cal.Project, cal.Country)
	_, err := c.exec(ctx, `INSERT INTO calendars (project_key, country, config, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (project_key, country) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`,
		p, cc, string(cal.Config), micros(cal.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put calendar: %w", err)
	}
	return nil
}

// Calendar loads the calendar of a project and country.
func (c Conn) Calendar(ctx context.Context, project, country string) (StoredCalendar, error) {
	p, cc := CalendarKey(project, country)
	return scanCalendar(c.queryRow(ctx, "SELECT project_key, country, config, updated_at FROM calendars WHERE project_key = ? AND country = ?", p, cc))
}

// Calendars returns every calendar ordered by project and country.
func (c Conn) Calendars(ctx context.Context) ([]StoredCalendar, error) {
	rows, err := c.query(ctx, "SELECT project_key, country, config, updated_at FROM calendars ORDER BY project_key, country")
	if err != nil {
		return nil, fmt.Errorf("store: list calendars: %w", err)
	}
	defer rows.Close()
	var out []StoredCalendar
	for rows.Next() {
		cal, err := scanCalendar(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, cal)
	}
	return out, rows.Err()
}

// DeleteCalendar removes a calendar; it reports whether one was there.
func (c Conn) DeleteCalendar(ctx context.Context, project, country string) (bool, error) {
	p, cc := CalendarKey(project, country)
	res, err := c.exec(ctx, "DELETE FROM calendars WHERE project_key = ? AND country = ?", p, cc)
	if err != nil {
		return false, fmt.Errorf("store: delete calendar: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: delete calendar: %w", err)
	}
	return n > 0, nil
}

func scanCalendar(r scanner) (StoredCalendar, error) {
	var cal StoredCalendar
	var cfg string
	var updated int64
	err := r.Scan(&cal.Project, &cal.Country, &cfg, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return cal, core.Errorf(core.ENotFound, "calendar not found")
	}
	if err != nil {
		return cal, fmt.Errorf("store: scan calendar: %w", err)
	}
	cal.Config, cal.UpdatedAt = []byte(cfg), fromMicros(updated)
	return cal, nil
}
