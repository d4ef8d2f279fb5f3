package runhistory

import (
	"fmt"
	"image/color"
	"path/filepath"
	"time"

	"github.com/locust-eks/locust-on-eks/internal/runreport"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Trend draws the runs' p95 and throughput over time, one point per run in
// order, into an SVG or PNG file (by path's extension). The line joins the
// runs of the newest run's load (users, spawn rate, run time, host); runs
// of another load are grey points off the line. Failed runs are circled in
// red, runs not judged (invalid or interrupted) crossed in grey, runs
// accepted as the new level marked by a green triangle, and, when the
// newest run was gated against baselines the picture holds, dashed lines
// show their mean and the limit the gate held it to.
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

	series := seriesOf(runs)
	labels := make([]string, len(runs))
	for i, r := range runs {
		labels[i] = tickLabel(r)
	}
	p95Of := func(r Run) float64 { return r.Summary.Stats.Total.P95Ms }
	rpsOf := func(r Run) float64 { return r.Summary.Stats.Total.RPS }
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	red := color.RGBA{R: 214, G: 39, B: 40, A: 255}
	green := color.RGBA{R: 44, G: 160, B: 44, A: 255}
	grey := color.RGBA{R: 127, G: 127, B: 127, A: 255}
	for _, c := range []struct {
		plot        *plot.Plot
		value       func(Run) float64
		legend      string
		mean, limit float64
	}{{p95, p95Of, "p95", series.band.P95MeanMs, series.band.P95MaxMs}, {rps, rpsOf, "rps", series.band.RPSMean, series.band.RPSMin}} {
		xys := func(idx []int) plotter.XYs {
			var out plotter.XYs
			for _, i := range idx {
				out = append(out, plotter.XY{X: float64(i + 1), Y: c.value(runs[i])})
			}
			return out
		}
		line, points, err := plotter.NewLinePoints(xys(series.line))
		if err != nil {
			return err
		}
		line.Color, points.Color = blue, blue
		points.Shape = draw.CircleGlyph{}
		c.plot.Add(line, points)
		c.plot.Legend.Add(c.legend+" ("+series.load+")", line, points)
		for _, m := range []struct {
			idx    []int
			color  color.Color
			glyph  draw.GlyphDrawer
			radius float64
			legend string
		}{
			{series.otherLoad, grey, draw.CircleGlyph{}, 3, "another load"},
			{series.failed, red, draw.RingGlyph{}, 7, "failed its thresholds"},
			{series.unjudged, grey, draw.CrossGlyph{}, 7, "not judged: invalid or interrupted"},
			{series.accepted, green, draw.TriangleGlyph{}, 6, "accepted as the new level"},
		} {
			if err := addMarks(c.plot, xys(m.idx), m.color, m.glyph, m.radius, m.legend); err != nil {
				return err
			}
		}
		highest := 0.0
		for _, r := range runs {
			highest = max(highest, c.value(r))
		}
		if series.gated {
			for _, l := range []struct {
				y      float64
				color  color.Color
				legend string
			}{{c.mean, grey, "gate: the newest run's baseline mean"}, {c.limit, red, "gate: the newest run's limit"}} {
				if err := addLevel(c.plot, l.y, len(runs), l.color, l.legend); err != nil {
					return err
				}
				highest = max(highest, l.y)
			}
		}
		// Room above the highest point for the legend.
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

// addLevel draws a dashed horizontal line at y across the runs, under
// legend.
func addLevel(p *plot.Plot, y float64, runs int, c color.Color, legend string) error {
	l, err := plotter.NewLine(plotter.XYs{{X: 0.5, Y: y}, {X: float64(runs) + 0.5, Y: y}})
	if err != nil {
		return err
	}
	l.Color = c
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	p.Legend.Add(legend, l)
	return nil
}

// trendSeries sorts the runs, by index, into what the picture marks.
type trendSeries struct {
	// load names the newest run's load; line are the runs of that load,
	// otherLoad the rest.
	load            string
	line, otherLoad []int
	// failed failed their thresholds; unjudged were invalid or
	// interrupted; accepted were accepted as the new level.
	failed, unjudged, accepted []int
	// band is the gate's band of the newest run, when gated says it was
	// gated against baselines that are all among the runs.
	band  runreport.GateBand
	gated bool
}

// seriesOf is the trendSeries of runs, oldest first.
func seriesOf(runs []Run) trendSeries {
	newest := runs[len(runs)-1].Summary
	t := trendSeries{load: loadOf(newest)}
	index := map[string]int{}
	for i, r := range runs {
		index[filepath.Base(r.Dir)] = i
		s := r.Summary
		if loadOf(s) == t.load {
			t.line = append(t.line, i)
		} else {
			t.otherLoad = append(t.otherLoad, i)
		}
		switch s.Verdict {
		case runreport.VerdictFail:
			t.failed = append(t.failed, i)
		case runreport.VerdictInvalid, runreport.VerdictInterrupted:
			t.unjudged = append(t.unjudged, i)
		}
		if s.Accepted != nil {
			t.accepted = append(t.accepted, i)
		}
	}
	var baselines []runreport.Stats
	for _, b := range newest.BaselineRuns {
		i, ok := index[filepath.Base(b)]
		if !ok {
			return t // a baseline older than the picture's runs: no band to draw exactly
		}
		baselines = append(baselines, runs[i].Summary.Stats)
	}
	t.band, t.gated = runreport.Band(baselines, newest.Thresholds.MaxRegressionPct)
	return t
}

// loadOf names a run's load as the regression gate compares it.
func loadOf(s runreport.Summary) string {
	load := fmt.Sprintf("%s users, spawn rate %s, %s", s.Parameters["users"], s.Parameters["spawnRate"], s.Parameters["runTime"])
	if host := s.Parameters["host"]; host != "" {
		load += ", " + host
	}
	if stacks := s.Parameters["stacks"]; stacks != "" {
		load += ", stacks " + stacks
	}
	return load
}
