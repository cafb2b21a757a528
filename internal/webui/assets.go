package webui

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
)

//go:embed assets
var assetFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	data        []byte
	contentType string
}

// assets holds every file of the assets directory by its base name: a
// request picks one by name from this table, and no path from it ever
// reaches a file system (there are no directories, no "..").
var assets = loadAssets()

func loadAssets() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[path.Base(p)] = asset{data: data, contentType: ct}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

// serveAsset serves an embedded asset by name; anything else is a 404.
func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Length", strconv.Itoa(len(a.data)))
	// Not secret, but revalidated: an upgraded binary serves new files.
	h.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodHead {
		w.Write(a.data)
	}
}
