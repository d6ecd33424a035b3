package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// DefaultDebounce is how long Watch waits after the last change of a burst
// before it reloads, when it is given no positive duration.
const DefaultDebounce = 100 * time.Millisecond

// Watch reloads the engine when the scripts or protocols folders change,
// until ctx is done. A burst of changes (an editor's save, a git checkout)
// makes one reload, debounce after its last change, so that a reload does
// not catch a half-written tree. Folders created under the scripts folder
// are watched as they appear. Watch returns nil when ctx is done, or an
// error if the watches cannot be set up.
func (e *Engine) Watch(ctx context.Context, debounce time.Duration) error {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Close()
	if err := e.addWatches(w); err != nil {
		return err
	}
	e.catchUp()
	e.log.Info("watching scripts and protocols", zap.String("scripts", e.opts.Scripts),
		zap.String("protocols", e.opts.Protocols), zap.Duration("debounce", debounce))
	return e.watchLoop(ctx, w, debounce)
}

func (e *Engine) addWatches(w *fsnotify.Watcher) error {
	if err := watchTree(w, e.opts.Scripts); err != nil {
		return fmt.Errorf("watch %s: %w", e.opts.Scripts, err)
	}
	if err := w.Add(e.opts.Protocols); err != nil {
		return fmt.Errorf("watch %s: %w", e.opts.Protocols, err)
	}
	return nil
}

// watchTree watches root and every folder under it (fsnotify is not
// recursive). A folder that vanishes during the walk is no error: its
// parent's event reports it.
func watchTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = w.Add(p)
		}
		if err != nil && p != root && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// catchUp reloads if the folders changed between the engine's last build
// and the moment the watches were in place: no event reports such a change.
func (e *Engine) catchUp() {
	snap, err := Build(e.opts.Scripts, e.opts.Protocols)
	if err == nil && snap.Hash == e.Snapshot().Hash {
		return
	}
	e.log.Debug("scripts or protocols changed before the watch began; reloading")
	_ = e.Reload() // logged and kept for Status by Reload
}

// errWatcherStopped is fsnotify closing its channels, which it does only
// when the watcher is closed.
var errWatcherStopped = errors.New("watch: the watcher stopped")

// burst is the changes seen since the last reload.
type burst struct {
	first  time.Time
	events int
}

func (b *burst) add() {
	if b.events == 0 {
		b.first = time.Now()
	}
	b.events++
}

func (e *Engine) watchLoop(ctx context.Context, w *fsnotify.Watcher, debounce time.Duration) error {
	timer := time.NewTimer(debounce)
	timer.Stop()
	defer timer.Stop()
	var b burst
	for {
		changed := false
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errWatcherStopped
			}
			changed = e.onEvent(w, ev)
		case err, ok := <-w.Errors:
			if !ok {
				return errWatcherStopped
			}
			changed = e.onWatchError(err)
		case <-timer.C:
			e.reloadBurst(b)
			b = burst{}
		}
		if changed {
			b.add()
			timer.Reset(debounce)
		}
	}
}

// onEvent reports whether ev may change what a snapshot is built from, and
// watches folders that appear under the scripts folder. It does so at once,
// not at the reload, so that no change inside a new folder is missed.
func (e *Engine) onEvent(w *fsnotify.Watcher, ev fsnotify.Event) bool {
	if isNoise(ev) {
		return false
	}
	if ev.Has(fsnotify.Create) && e.inScripts(ev.Name) {
		e.watchNewFolder(w, ev.Name)
	}
	if ev.Has(fsnotify.Remove|fsnotify.Rename) && e.isWatchRoot(ev.Name) {
		e.log.Error("a watched folder was removed or renamed: changes to it are not seen until Watch starts again",
			zap.String("folder", ev.Name))
	}
	return true
}

func (e *Engine) isWatchRoot(name string) bool {
	name = filepath.Clean(name)
	return name == filepath.Clean(e.opts.Scripts) || name == filepath.Clean(e.opts.Protocols)
}

func (e *Engine) inScripts(name string) bool {
	rel, err := filepath.Rel(e.opts.Scripts, name)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func (e *Engine) watchNewFolder(w *fsnotify.Watcher, name string) {
	fi, err := os.Lstat(name)
	if err != nil || !fi.IsDir() {
		return // a file, or gone already: the reload sees what is there
	}
	if err := watchTree(w, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.log.Error("cannot watch a new scripts folder; changes inside it need another change to load",
			zap.String("folder", name), zap.Error(err))
	}
}

// isNoise reports events that change no content: attribute changes only
// (chmod, touch), and the swap, backup and lock files of editors.
func isNoise(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Create | fsnotify.Write | fsnotify.Remove | fsnotify.Rename) {
		return true
	}
	return isEditorTemp(filepath.Base(ev.Name))
}

var editorTempSuffixes = []string{".swp", ".swo", ".swn", ".swx", "~", "___jb_tmp___", "___jb_old___"}

func isEditorTemp(base string) bool {
	switch {
	case base == "4913": // vim's probe for a writable folder
		return true
	case strings.HasPrefix(base, ".#"), // emacs lock
		len(base) > 1 && strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"): // emacs autosave
		return true
	}
	for _, s := range editorTempSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// onWatchError logs err. Lost events (a full queue) may hide a change, so
// they count as one.
func (e *Engine) onWatchError(err error) bool {
	e.log.Warn("error watching scripts and protocols", zap.Error(err))
	return errors.Is(err, fsnotify.ErrEventOverflow)
}

// reloadBurst reloads and logs the delay from the first change of the burst
// to the end of the reload: how long a saved file takes to go live.
func (e *Engine) reloadBurst(b burst) {
	e.log.Debug("scripts or protocols changed; reloading", zap.Int("events", b.events))
	err := e.Reload()
	e.metrics.reloadLag.Observe(time.Since(b.first).Seconds())
	e.log.Debug("reload after change done", zap.Int("events", b.events),
		zap.Duration("delay", time.Since(b.first)), zap.Bool("ok", err == nil))
}
