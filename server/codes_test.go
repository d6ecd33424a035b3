package server_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/server"
)

// docs/errors.md and the server's catalogue list the same codes with the
// same statuses.
func TestCatalogue_MatchesDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	// The engine's section ends where the protocols' sections begin.
	section, _, _ := strings.Cut(string(doc), "## Codes of protocol scripts")
	rows := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| (\\d{3}) \\|").FindAllStringSubmatch(section, -1)
	documented := map[string]int{}
	for _, r := range rows {
		status, _ := strconv.Atoi(r[2])
		if _, dup := documented[r[1]]; dup {
			t.Errorf("%s listed twice in docs/errors.md", r[1])
		}
		documented[r[1]] = status
	}
	for _, c := range server.Catalogue {
		if s, ok := documented[c.Code]; !ok {
			t.Errorf("%s is not in docs/errors.md", c.Code)
		} else if s != c.Status {
			t.Errorf("%s: docs say %d, server answers %d", c.Code, s, c.Status)
		}
		delete(documented, c.Code)
	}
	for code := range documented {
		t.Errorf("docs/errors.md lists %s, which the server never answers", code)
	}
}

// Every error the engine can return has a catalogue entry of its own.
func TestCatalogue_CoversEngineErrors(t *testing.T) {
	known := map[string]bool{}
	for _, c := range server.Catalogue {
		known[c.Code] = true
	}
	for _, err := range []error{engine.ErrUnknownProtocol, engine.ErrUnknownStep, engine.ErrWrongProtocol,
		engine.ErrOutOfOrder, engine.ErrSessionClosed, engine.ErrTooManyAttempts, engine.ErrScriptTimeout,
		engine.ErrNoResult, engine.ErrPoolTimeout, &engine.ParamError{}, &engine.ScriptError{}} {
		if code := engine.ErrorCode(err); code == engine.CodeInternal || !known[code] {
			t.Errorf("%v maps to %s", err, code)
		}
	}
}
