package window

import (
	"net/url"
	"regexp"
)

// returnURL is the merchant's RETURN_URL with the window's outcome appended
// to its own query: TID, RESULT and, for a failure (code not empty), CODE.
// ok is false when raw is not an absolute http or https URL: nothing else
// is ever redirected to.
func returnURL(raw, tid, code string) (string, bool) {
	u, ok := parseReturn(raw)
	if !ok {
		return "", false
	}
	add := "TID=" + url.QueryEscape(tid) + "&RESULT=SUCCESS"
	if code != "" {
		add = "TID=" + url.QueryEscape(tid) + "&RESULT=FAIL&CODE=" + url.QueryEscape(code)
	}
	if u.RawQuery != "" {
		add = u.RawQuery + "&" + add
	}
	u.RawQuery, u.ForceQuery = add, false
	return u.String(), true
}

// hostRE keeps the origin put in a CSP header to plain host[:port].
var hostRE = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$`)

// returnOrigin is the scheme and host of raw, for the CSP's form-action: a
// form posted to the window may be answered with a redirect there.
func returnOrigin(raw string) string {
	u, ok := parseReturn(raw)
	if !ok || !hostRE.MatchString(u.Host) {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func parseReturn(raw string) (*url.URL, bool) {
	if raw == "" {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, false
	}
	return u, true
}
