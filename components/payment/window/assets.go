package window

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

//go:embed templates/*.html assets/*
var files embed.FS

// asset is a static file of the window, served from /pay/assets/.
type asset struct {
	body    []byte
	version string // a hash of body: the ?v= of its URL, and its ETag
	ctype   string
}

// loadAssets reads the embedded assets, and returns them with the
// versioned URL of the stylesheet.
func loadAssets() (map[string]asset, string, error) {
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		return nil, "", fmt.Errorf("window: assets: %w", err)
	}
	out := make(map[string]asset, len(entries))
	for _, e := range entries {
		body, err := fs.ReadFile(files, "assets/"+e.Name())
		if err != nil {
			return nil, "", fmt.Errorf("window: assets: %w", err)
		}
		sum := sha256.Sum256(body)
		out[e.Name()] = asset{body: body, version: hex.EncodeToString(sum[:6]),
			ctype: mime.TypeByExtension(path.Ext(e.Name()))}
	}
	css, ok := out["style.css"]
	if !ok {
		return nil, "", fmt.Errorf("window: assets: no style.css")
	}
	return out, "/pay/assets/style.css?v=" + css.version, nil
}

// serveAsset serves an embedded asset. A URL with the asset's current
// version may be cached for good; any other for an hour.
func (w *Window) serveAsset(rw http.ResponseWriter, r *http.Request) {
	a, ok := w.assets[r.PathValue("name")]
	if !ok {
		w.errorPage(rw, r, w.newPage(), http.StatusNotFound, msgPageNotFound)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", `"`+a.version+`"`)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	http.ServeContent(rw, r, r.PathValue("name"), time.Time{}, bytes.NewReader(a.body))
}
