package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// Every code a script of the repository or the payment service can answer
// is listed in docs/errors.md.
func TestCatalogue_ScriptAndPaymentCodesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| \\d{3} \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	used := map[string]string{}
	for _, c := range payment.Codes() {
		used[c] = "components/payment"
	}
	setCall := regexp.MustCompile(`set(?:Fail|Success)\(\s*"([A-Z][A-Z0-9_]*)"`)
	err = filepath.WalkDir("../../scripts", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".js" {
			return err
		}
		src, err := os.ReadFile(p)
		for _, m := range setCall.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = p
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 30 {
		t.Fatalf("found only %d codes: is the scan broken?", len(used))
	}
	for code, where := range used {
		if !documented[code] {
			t.Errorf("%s (used in %s) is not in docs/errors.md", code, where)
		}
	}
}
