// Package cp is the CP component: merchant (CP) authentication for scripts.
//
//	var cp = CP.authenticate(reqMap.get("CP_ID"), reqMap.get("CP_PWD")); // {id, name} or null
package cp

import (
	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
)

func init() {
	components.Register("CP", func(env components.Env) (any, error) {
		svc, err := payment.From(env)
		return &CP{svc: svc}, err
	})
}

// CP authenticates merchants.
type CP struct{ svc *payment.Service }

// Authenticate returns the merchant {id, name} whose credentials these are,
// or null. The password is checked against a keyed hash in constant time;
// it is never stored in the session or logged.
func (c *CP) Authenticate(call *components.Call, id, password string) any {
	m, ok := c.svc.Authenticate(call.Context(), id, password)
	if !ok {
		return nil
	}
	return map[string]any{"id": m.ID, "name": m.Name}
}
