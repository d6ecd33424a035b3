package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tunapay/tuna/engine"
)

func (s *Server) routeAdmin(e *echo.Echo) {
	s.routeHealth(e)
	g := e.Group("/admin", s.adminAuth)
	g.GET("/status", s.adminStatus)
	g.POST("/reload", s.adminReload)
	g.GET("/sessions/:tid", s.adminSession)
	for pattern, h := range s.opts.AdminMounts {
		g.Any(strings.TrimPrefix(pattern, "/admin"), echo.WrapHandler(h))
	}
}

// adminAuth requires "Authorization: Bearer <token>", compared in constant
// time. With no token configured, the admin API is closed.
func (s *Server) adminAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		want := s.opts.AdminToken
		if !ok || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="tuna-admin"`)
			return echo.NewHTTPError(http.StatusUnauthorized)
		}
		return next(c)
	}
}

func (s *Server) adminStatus(c echo.Context) error {
	return c.JSON(http.StatusOK, s.opts.Engine.Status())
}

func (s *Server) adminReload(c echo.Context) error {
	err := s.opts.Engine.Reload()
	st := s.opts.Engine.Status()
	if err != nil {
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error(), "snapshot": st.Snapshot})
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "snapshot": st.Snapshot})
}

// adminSession shows a session with every sensitive value masked.
func (s *Server) adminSession(c echo.Context) error {
	tid := c.Param("tid")
	if !engine.TIDPattern.MatchString(tid) {
		return &engine.ParamError{Invalid: []string{"tid"}}
	}
	sess, err := s.opts.Engine.Store().Load(c.Request().Context(), tid)
	if err != nil {
		return &stepError{err: err, tid: tid}
	}
	return c.JSON(http.StatusOK, s.opts.Engine.MaskedSession(sess))
}
