package componentstest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/componentstest"
)

// Quota is the README's worked example: a component that counts how many
// times each key was used today and refuses past a limit.
type Quota struct {
	Limit int64
	used  map[string]int64
}

var ErrOverQuota = errors.New("over quota")

// Take is what a script calls as QUOTA.take("key", 2): it returns how many
// remain, or throws when the quota would be exceeded.
func (q *Quota) Take(call *components.Call, key string, n int64) (int64, error) {
	day := call.Now().Format("2006-01-02")
	k := day + "/" + key
	if q.used[k]+n > q.Limit {
		call.Logger().Info("quota refused") // never log the key if it is personal data
		return 0, ErrOverQuota
	}
	q.used[k] += n
	return q.Limit - q.used[k], nil
}

// In production the component registers itself from init():
//
//	func init() {
//		components.Register("QUOTA", func(env components.Env) (any, error) {
//			return &Quota{Limit: 10, used: map[string]int64{}}, nil
//		})
//	}
func TestQuota(t *testing.T) {
	rt := componentstest.New(t).Bind("QUOTA", &Quota{Limit: 3, used: map[string]int64{}})
	if got := rt.Export(`QUOTA.take("a", 2)`); got != float64(1) {
		t.Fatalf("take: %v", got)
	}
	if msg := rt.Throws(`QUOTA.take("a", 2)`); msg != "GoError: QUOTA.take: over quota" {
		t.Fatalf("over quota: %q", msg)
	}
	if got := rt.Export(`try { QUOTA.take("a", 5) } catch (e) { "caught: " + e.message }`); got != "caught: QUOTA.take: over quota" {
		t.Fatalf("catch: %v", got)
	}
	if names, err := components.Methods(&Quota{}); err != nil || fmt.Sprint(names) != "[take]" {
		t.Fatalf("methods %v, %v", names, err)
	}
}
