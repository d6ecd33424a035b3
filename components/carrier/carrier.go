// Package carrier is the CARRIER component: what scripts may know of the
// carriers. The carrier's API itself (identity, SMS, charge, cancel) is
// reached only through USER, OTP and BILL, which keep the money rules.
//
//	CARRIER.carriers()    // ["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]
//	CARRIER.name("LGU")   // "LG U+"
package carrier

import (
	"fmt"

	"github.com/tunapay/tuna/components"
)

func init() {
	components.Register("CARRIER", func(components.Env) (any, error) { return &Carrier{}, nil })
}

// Carrier describes the carriers.
type Carrier struct{}

var names = []struct{ code, name string }{
	{"SKT", "SK텔레콤"}, {"KT", "KT"}, {"LGU", "LG U+"},
	{"SKT_MVNO", "SKT 알뜰폰"}, {"KT_MVNO", "KT 알뜰폰"}, {"LGU_MVNO", "LG U+ 알뜰폰"},
}

// Carriers lists the carrier codes a user may choose.
func (Carrier) Carriers() []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n.code
	}
	return out
}

// Name is a carrier's display name.
func (Carrier) Name(code string) (string, error) {
	for _, n := range names {
		if n.code == code {
			return n.name, nil
		}
	}
	return "", fmt.Errorf("unknown carrier %q", code)
}
