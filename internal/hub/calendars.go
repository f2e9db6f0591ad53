package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"switchboard/internal/core"
	"switchboard/internal/hours"
	"switchboard/internal/store"
)

// PutCalendar stores (or replaces) the business-hours calendar of its
// project and country.
func (h *Hub) PutCalendar(ctx context.Context, cal *hours.Calendar) error {
	if cal == nil {
		return core.Errorf(core.EInvalid, "calendar is required")
	}
	b, err := json.Marshal(cal)
	if err != nil {
		return fmt.Errorf("hub: encode calendar: %w", err)
	}
	_, err = h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		return nil, c.PutCalendar(ctx, store.StoredCalendar{Project: cal.Project(), Country: cal.Country(), Config: b, UpdatedAt: h.Now()})
	})
	return err
}

// DeleteCalendar removes the calendar of a project and country.
func (h *Hub) DeleteCalendar(ctx context.Context, project, country string) error {
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		ok, err := c.DeleteCalendar(ctx, project, country)
		if err == nil && !ok {
			err = core.Errorf(core.ENotFound, "no calendar for project %q, country %q", project, country)
		}
		return nil, err
	})
	return err
}

// Calendar loads the calendar of a project and country (case-insensitive).
func (h *Hub) Calendar(ctx context.Context, project, country string) (*hours.Calendar, error) {
	sc, err := h.store.Read().Calendar(ctx, project, country)
	if core.IsCode(err, core.ENotFound) {
		return nil, core.Errorf(core.ENotFound, "no calendar for project %q, country %q", project, country)
	}
	if err != nil {
		return nil, err
	}
	return decodeCalendar(sc)
}

// Calendars returns every stored calendar.
func (h *Hub) Calendars(ctx context.Context) ([]*hours.Calendar, error) {
	scs, err := h.store.Read().Calendars(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*hours.Calendar, 0, len(scs))
	for _, sc := range scs {
		cal, err := decodeCalendar(sc)
		if err != nil {
			return nil, err
		}
		out = append(out, cal)
	}
	return out, nil
}

// DepartmentCalendar returns the calendar of a group's project and country.
func (h *Hub) DepartmentCalendar(ctx context.Context, g core.Group) (*hours.Calendar, error) {
	if g.Project == "" || g.Country == "" {
		return nil, core.Errorf(core.EConflict, "department %q has no project and country, so no calendar", g.Name)
	}
	cal, err := h.Calendar(ctx, g.Project, g.Country)
	if core.IsCode(err, core.ENotFound) {
		return nil, core.Errorf(core.EConflict, "department %q has no calendar (project %q, country %q)", g.Name, g.Project, g.Country)
	}
	return cal, err
}

func decodeCalendar(sc store.StoredCalendar) (*hours.Calendar, error) {
	var cal hours.Calendar
	if err := json.Unmarshal(sc.Config, &cal); err != nil {
		if errors.Is(err, hours.ErrInvalid) {
			// Stored calendars were valid when written; a newer rule refuses it.
			return nil, fmt.Errorf("hub: stored calendar %s/%s no longer valid: %w", sc.Project, sc.Country, err)
		}
		return nil, fmt.Errorf("hub: decode calendar %s/%s: %w", sc.Project, sc.Country, err)
	}
	return &cal, nil
}
