// Command capacityplot draws the table bench/master-capacity.sh prints: the
// master's and the simulator's CPU share, and the master's peak memory,
// against the number of workers, one line per Locust version.
//
//	bench/master-capacity.sh 20 | go run ./bench/capacityplot capacity.png  (a PNG)
//
// Exit codes: 0 drawn, 1 a table it cannot read or a file it cannot write,
// 2 no output file given.
package main

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// row is one line of the table: locust, workers, ready, master%, peakMB,
// sim%, missing, counted, reported, exact.
type row struct {
	version               string
	workers               float64
	masterCPU, simCPU, mb float64
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bench/master-capacity.sh | go run ./bench/capacityplot FILE.png")
		os.Exit(2)
	}
	rows, err := read(os.Stdin)
	if err == nil {
		err = drawCurve(os.Args[1], rows)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "capacityplot:", err)
		os.Exit(1)
	}
}

// read takes the table's rows, skipping its header and any other line.
func read(r io.Reader) ([]row, error) {
	var rows []row
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 10 || f[0] == "locust" { // 10 columns, 12 with the stats lag
			continue
		}
		num := func(i int) (float64, error) { return strconv.ParseFloat(strings.TrimSuffix(f[i], "%"), 64) }
		w, err1 := num(1)
		m, err2 := num(3)
		mb, err3 := num(4)
		sim, err4 := num(5)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("cannot read the line %q", s.Text())
		}
		rows = append(rows, row{version: f[0], workers: w, masterCPU: m, mb: mb, simCPU: sim})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no table rows on standard input")
	}
	return rows, s.Err()
}

// drawCurve draws rows into the PNG at path: CPU above, memory below.
func drawCurve(path string, rows []row) error {
	cpu := plot.New()
	cpu.Title.Text = "One Locust master against N workers: CPU (share of one core)"
	cpu.Y.Label.Text = "% of a core"
	mem := plot.New()
	mem.Title.Text = "Master's peak memory"
	mem.Y.Label.Text = "MiB (resident)"
	mem.X.Label.Text = "workers"
	var versions []string
	for _, r := range rows {
		if !slices.Contains(versions, r.version) {
			versions = append(versions, r.version)
		}
	}
	palette := []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}}
	for i, v := range versions {
		var master, sim, memory plotter.XYs
		for _, r := range rows {
			if r.version == v {
				master = append(master, plotter.XY{X: r.workers, Y: r.masterCPU})
				sim = append(sim, plotter.XY{X: r.workers, Y: r.simCPU})
				memory = append(memory, plotter.XY{X: r.workers, Y: r.mb})
			}
		}
		c := palette[i%len(palette)]
		for _, s := range []struct {
			p      *plot.Plot
			xy     plotter.XYs
			legend string
			dashed bool
		}{{cpu, master, "master, Locust " + v, false}, {cpu, sim, "simulated workers, Locust " + v, true}, {mem, memory, "master, Locust " + v, false}} {
			line, points, err := plotter.NewLinePoints(s.xy)
			if err != nil {
				return err
			}
			line.Color, points.Color = c, c
			if s.dashed {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			s.p.Add(line, points)
			s.p.Legend.Add(s.legend, line, points)
		}
	}
	for _, p := range []*plot.Plot{cpu, mem} {
		p.Y.Min = 0
		p.Legend.Top, p.Legend.Left = true, true
		p.Add(plotter.NewGrid())
	}
	cpu.Y.Max = 100 // the whole core the master can use
	const width, height = 22 * vg.Centimeter, 16 * vg.Centimeter
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 4}
	img := vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	canvases := plot.Align([][]*plot.Plot{{cpu}, {mem}}, tiles, draw.New(img))
	cpu.Draw(canvases[0][0])
	mem.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
