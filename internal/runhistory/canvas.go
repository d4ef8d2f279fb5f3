package runhistory

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// newCanvas is an SVG or PNG canvas, by path's extension.
func newCanvas(path string, width, height vg.Length) (vg.CanvasSizer, error) {
	switch filepath.Ext(path) {
	case ".svg":
		return vgsvg.New(width, height), nil
	case ".png":
		return vgimg.PngCanvas{Canvas: vgimg.New(width, height)}, nil
	}
	return nil, fmt.Errorf("%s: the trend picture is .svg or .png", path)
}

// writeCanvas writes c, made by newCanvas, to path.
func writeCanvas(path string, c vg.CanvasSizer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var werr error
	switch c := c.(type) {
	case *vgsvg.Canvas:
		_, werr = c.WriteTo(f)
	case vgimg.PngCanvas:
		_, werr = c.WriteTo(f)
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	return werr
}
