package engine

import (
	"cmp"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunapay/tuna/session"
)

// sensitiveName matches keys whose values are never logged or shown: what
// a payment protocol carries without declaring it. A protocol adds its own
// with `sensitive:` or a parameter's `sensitive: true`.
var sensitiveName = regexp.MustCompile(`(?i)(pwd|passw|secret|otp|pin$|birth|phone|token|card|ssn|account)`)

// phoneRE finds Korean mobile numbers in free text.
var phoneRE = regexp.MustCompile(`01[016789]-?\d{3,4}-?\d{4}`)

// Mask is what a masked value becomes.
const Mask = "****"

// isSensitive reports whether key names a value to mask in protocol p (p may be nil).
func isSensitive(p *Protocol, key string) bool {
	return sensitiveKey(key) || (p != nil && p.Sensitive[key])
}

// sensitiveKeys remembers sensitiveName's answer per key: the keys are the
// few names scripts and protocols use, and matching the case-insensitive
// pattern costs about a microsecond per key, on every key of every step
// that logs. Past maxSensitiveKeys names it stops remembering.
var (
	sensitiveKeys     sync.Map // string → bool
	sensitiveKeyCount atomic.Int64
)

const maxSensitiveKeys = 4096

func sensitiveKey(key string) bool {
	if v, ok := sensitiveKeys.Load(key); ok {
		return v.(bool)
	}
	yes := sensitiveName.MatchString(key)
	if sensitiveKeyCount.Load() < maxSensitiveKeys {
		if _, loaded := sensitiveKeys.LoadOrStore(key, yes); !loaded {
			sensitiveKeyCount.Add(1)
		}
	}
	return yes
}

// MaskPhones masks the middle of every mobile number in s: 010****5678.
func MaskPhones(s string) string {
	return phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		digits := strings.ReplaceAll(m, "-", "")
		return digits[:3] + Mask + digits[len(digits)-4:]
	})
}

// maskData returns a copy of m with the values of sensitive keys masked, at
// any depth, and phone numbers masked inside every string.
func maskData(p *Protocol, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if isSensitive(p, k) {
			out[k] = Mask
			continue
		}
		out[k] = maskValue(p, v)
	}
	return out
}

func maskValue(p *Protocol, v any) any {
	switch x := v.(type) {
	case map[string]any:
		return maskData(p, x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(p, e)
		}
		return out
	case string:
		return MaskPhones(x)
	}
	return v
}

// masker hides, in a step's log lines, every value the step holds under a
// sensitive key, wherever the script put it in the message. A step holds a
// handful (a password, a birth date, an OTP): a search for each is cheaper
// than building a strings.Replacer per step, which cost more than the log
// line itself.
type masker struct{ secrets []string }

func newMasker(p *Protocol, st *Step, sources ...any) *masker {
	m := &masker{}
	add := func(v string) {
		if len(v) >= 4 {
			m.secrets = append(m.secrets, v)
		}
	}
	for _, src := range sources {
		collectSensitive(p, st, src, false, add)
	}
	// Longest first, so that a secret inside another cannot unmask the
	// rest of it by being masked first.
	slices.SortFunc(m.secrets, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	m.secrets = slices.Compact(m.secrets)
	return m
}

func collectSensitive(p *Protocol, st *Step, v any, under bool, add func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			collectSensitive(p, st, e, under || isSensitive(p, k) || st.paramSensitive(k), add)
		}
	case map[string]string: // the request's parameters
		for k, e := range x {
			collectSensitive(p, st, e, under || isSensitive(p, k) || st.paramSensitive(k), add)
		}
	case []any:
		for _, e := range x {
			collectSensitive(p, st, e, under, add)
		}
	case string:
		if under {
			add(x)
		}
	}
}

func (m *masker) mask(s string) string {
	for _, v := range m.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return MaskPhones(s)
}

func (st *Step) paramSensitive(key string) bool {
	for _, prm := range st.Params {
		if prm.Name == key {
			return prm.Sensitive
		}
	}
	return false
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// SessionView is a session as the admin API shows it: every value under a
// sensitive key masked, and phone numbers masked everywhere.
type SessionView struct {
	TID       string              `json:"tid"`
	Protocol  string              `json:"protocol"`
	Version   uint64              `json:"version"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
	ExpiresAt time.Time           `json:"expires_at"`
	ClosedBy  string              `json:"closed_by,omitempty"`
	Data      map[string]any      `json:"data"`
	Steps     map[string]StepView `json:"steps"`
}

// StepView is a step record with its response data masked.
type StepView struct {
	Result   string         `json:"result"`
	Code     string         `json:"code"`
	Message  string         `json:"message,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
	Attempts int            `json:"attempts"`
	At       time.Time      `json:"at"`
}

// MaskedSession returns the admin view of s.
func (e *Engine) MaskedSession(s *session.Session) SessionView {
	p := e.Snapshot().Protocols[s.Protocol]
	v := SessionView{TID: s.TID, Protocol: s.Protocol, Version: s.Version, CreatedAt: s.CreatedAt,
		UpdatedAt: s.UpdatedAt, ExpiresAt: s.ExpiresAt, ClosedBy: s.ClosedBy,
		Data: maskData(p, s.Data), Steps: make(map[string]StepView, len(s.Steps))}
	for name, r := range s.Steps {
		v.Steps[name] = StepView{Result: r.Result, Code: r.Code, Message: MaskPhones(r.Message),
			Data: maskData(p, r.Data), Attempts: r.Attempts, At: r.At}
	}
	return v
}
