package shop

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Options configure a Shop.
type Options struct {
	TUNA          string       // TUNA's base URL: http://127.0.0.1:8080
	CPID          string       // the merchant's credentials (tuna merchant add)
	CPPassword    string       //
	WebhookSecret string       // whsec_… from `tuna merchant webhook`; empty: no POST /webhooks
	PublicURL     string       // the shop's own base URL, as browsers reach it (for RETURN_URL)
	Client        *http.Client // for TUNA; nil: one with a 20 s timeout (bill waits up to 15 s)
	Log           *slog.Logger // nil: slog.Default()
}

// Shop is the demo shop's web server.
type Shop struct {
	opts  Options
	book  *book
	pages map[string]*template.Template
}

//go:embed templates static
var files embed.FS

// New returns a shop selling the demo catalogue through TUNA.
func New(opts Options) *Shop {
	opts.TUNA = strings.TrimRight(opts.TUNA, "/")
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 20 * time.Second}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Shop{opts: opts, book: newBook(), pages: parsePages("products", "order", "error")}
}

// Handler serves the shop's routes.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.products)
	mux.HandleFunc("POST /orders", s.order)
	mux.HandleFunc("GET /return", s.back)
	mux.HandleFunc("GET /orders/{id}", s.show)
	mux.HandleFunc("POST /orders/{id}/cancel", s.cancel)
	if s.opts.WebhookSecret != "" {
		mux.HandleFunc("POST /webhooks", s.webhook)
	}
	mux.Handle("GET /static/", http.FileServerFS(files))
	return mux
}

var funcs = template.FuncMap{"won": won, "label": label}

func parsePages(names ...string) map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, n := range names {
		pages[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+n+".html"))
	}
	return pages
}

func (s *Shop) render(w http.ResponseWriter, status int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.pages[page].ExecuteTemplate(w, "layout", data); err != nil {
		s.opts.Log.Error("rendering a page", "page", page, "err", err)
	}
}

// problem is the error page: what went wrong, and TUNA's code if it said one.
type problem struct{ Ko, En, Code string }

func (s *Shop) fail(w http.ResponseWriter, status int, p problem) {
	s.render(w, status, "error", p)
}

// won is a price as the shop shows it: 12,000원.
func won(n int64) string {
	d := strconv.FormatInt(n, 10)
	for i := len(d) - 3; i > 0; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return d + "원"
}

// label is a status in Korean and English.
func label(s Status) [2]string {
	switch s {
	case StatusAwaiting:
		return [2]string{"결제 진행 중", "awaiting payment"}
	case StatusPending:
		return [2]string{"결제 확인 대기", "pending"}
	case StatusPaid:
		return [2]string{"결제 완료", "paid"}
	case StatusPartlyCancelled:
		return [2]string{"부분 취소", "partially cancelled"}
	case StatusCancelled:
		return [2]string{"취소됨", "cancelled"}
	case StatusRefunded:
		return [2]string{"환불됨", "refunded"}
	case StatusFailed:
		return [2]string{"결제 실패", "failed"}
	}
	return [2]string{string(s), string(s)}
}
