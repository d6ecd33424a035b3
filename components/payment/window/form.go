package window

import (
	"net/http"
	"strconv"
	"strings"
)

// userForm is what the user enters for payment/user_auth, named as the
// step's parameters.
type userForm struct {
	Name    string `json:"n"`
	Phone   string `json:"p"`
	Carrier string `json:"c"`
	Birth   string `json:"b"`
	Gender  string `json:"g"`
}

// separators people type in numbers; the step's patterns want digits only.
var separators = strings.NewReplacer("-", "", " ", "", ".", "", "/", "")

// readUserForm reads the user's details from a parsed form. It only tidies
// them; the protocol's patterns judge them.
func readUserForm(r *http.Request) userForm {
	f := r.PostForm
	return userForm{
		Name:    strings.TrimSpace(f.Get("name")),
		Phone:   separators.Replace(f.Get("phone_number")),
		Carrier: strings.TrimSpace(f.Get("carrier")),
		Birth:   separators.Replace(f.Get("birth")),
		Gender:  strings.TrimSpace(f.Get("gender")),
	}
}

func (f userForm) params(tid string) map[string]string {
	return map[string]string{"TID": tid, "name": f.Name, "phone_number": f.Phone,
		"carrier": f.Carrier, "birth": f.Birth, "gender": f.Gender}
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// carriers are the carriers of the protocol, with the names users know.
var carriers = []option{
	{Value: "SKT", Label: "SKT"},
	{Value: "KT", Label: "KT"},
	{Value: "LGU", Label: "LG U+"},
	{Value: "SKT_MVNO", Label: "SKT 알뜰폰 (MVNO)"},
	{Value: "KT_MVNO", Label: "KT 알뜰폰 (MVNO)"},
	{Value: "LGU_MVNO", Label: "LG U+ 알뜰폰 (MVNO)"},
}

func carrierOptions(selected string) []option {
	out := make([]option, len(carriers))
	for i, c := range carriers {
		c.Selected = c.Value == selected
		out[i] = c
	}
	return out
}

// formatKRW shows an amount as 5,000원.
func formatKRW(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + "원"
}
