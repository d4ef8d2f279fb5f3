package runhistory

import (
	"fmt"
	"image/color"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Trend draws the runs' p95 and throughput over time, one point per run in
// order, failed runs circled in red, runs accepted as the new level marked
// by a green triangle, into an SVG or PNG file (by path's extension).
func Trend(path, title string, runs []Run) error {
	if len(runs) == 0 {
		return fmt.Errorf("no runs to draw")
	}
	p95 := plot.New()
	p95.Title.Text = title + ": p95 response time"
	p95.Y.Label.Text = "p95 (ms)"
	rps := plot.New()
	rps.Title.Text = title + ": throughput"
	rps.Y.Label.Text = "requests/s"
	rps.X.Label.Text = "run"

	var p95Points, rpsPoints, p95Failed, rpsFailed, p95Accepted, rpsAccepted plotter.XYs
	labels := make([]string, len(runs))
	for i, r := range runs {
		t := r.Summary.Stats.Total
		x := float64(i + 1)
		p95Points = append(p95Points, plotter.XY{X: x, Y: t.P95Ms})
		rpsPoints = append(rpsPoints, plotter.XY{X: x, Y: t.RPS})
		if r.Summary.Verdict != "pass" {
			p95Failed = append(p95Failed, plotter.XY{X: x, Y: t.P95Ms})
			rpsFailed = append(rpsFailed, plotter.XY{X: x, Y: t.RPS})
		}
		if r.Summary.Accepted != nil {
			p95Accepted = append(p95Accepted, plotter.XY{X: x, Y: t.P95Ms})
			rpsAccepted = append(rpsAccepted, plotter.XY{X: x, Y: t.RPS})
		}
		labels[i] = tickLabel(r)
	}
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	red := color.RGBA{R: 214, G: 39, B: 40, A: 255}
	green := color.RGBA{R: 44, G: 160, B: 44, A: 255}
	for _, c := range []struct {
		plot                     *plot.Plot
		points, failed, accepted plotter.XYs
		legend                   string
	}{{p95, p95Points, p95Failed, p95Accepted, "p95"}, {rps, rpsPoints, rpsFailed, rpsAccepted, "rps"}} {
		line, points, err := plotter.NewLinePoints(c.points)
		if err != nil {
			return err
		}
		line.Color, points.Color = blue, blue
		points.Shape = draw.CircleGlyph{}
		c.plot.Add(line, points)
		c.plot.Legend.Add(c.legend, line, points)
		if err := addMarks(c.plot, c.failed, red, draw.RingGlyph{}, 7, "failed its thresholds"); err != nil {
			return err
		}
		if err := addMarks(c.plot, c.accepted, green, draw.TriangleGlyph{}, 6, "accepted as the new level"); err != nil {
			return err
		}
		// Room above the highest point for the legend.
		highest := 0.0
		for _, p := range c.points {
			highest = max(highest, p.Y)
		}
		c.plot.Y.Min, c.plot.Y.Max = 0, highest*1.3+1
		c.plot.X.Min, c.plot.X.Max = 0.5, float64(len(runs))+0.5
		c.plot.X.Tick.Marker = runTicks(labels)
		c.plot.Legend.Top = true
		c.plot.Legend.Left = true
		c.plot.Add(plotter.NewGrid())
	}
	// Two plots, one above the other, in one picture.
	const width, height = 22 * vg.Centimeter, 16 * vg.Centimeter
	img, err := newCanvas(path, width, height)
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{p95}, {rps}}, tiles, draw.New(img))
	p95.Draw(canvases[0][0])
	rps.Draw(canvases[1][0])
	return writeCanvas(path, img)
}

// tickLabel is a run's start, short enough for an axis: month-day and time.
func tickLabel(r Run) string {
	if t, err := time.Parse(time.RFC3339, r.Summary.StartedAt); err == nil {
		return t.UTC().Format("01-02 15:04")
	}
	return filepath.Base(r.Dir)
}

// runTicks labels each run on the x axis by its start time, thinned so that
// at most about eight labels show.
type runTicks []string

func (t runTicks) Ticks(_, _ float64) []plot.Tick {
	step := max(1, (len(t)+7)/8)
	var ticks []plot.Tick
	for i := range t {
		label := ""
		if i%step == 0 || i == len(t)-1 {
			label = t[i]
		}
		ticks = append(ticks, plot.Tick{Value: float64(i + 1), Label: label})
	}
	return ticks
}

// addMarks rings the runs at xys on p with glyph, under legend; none, no
// mark and no legend entry.
func addMarks(p *plot.Plot, xys plotter.XYs, c color.Color, glyph draw.GlyphDrawer, radiusPoints float64, legend string) error {
	if len(xys) == 0 {
		return nil
	}
	marks, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	marks.Color = c
	marks.Shape = glyph
	marks.Radius = vg.Points(radiusPoints)
	p.Add(marks)
	p.Legend.Add(legend, marks)
	return nil
}
