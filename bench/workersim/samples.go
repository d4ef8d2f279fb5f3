package main

import (
	"bufio"
	"os"
	"strconv"
	"sync"
)

// sampleLog keeps the response time of every request the simulated
// workers reported, as drawn, before Locust's rounding: the pooled
// requests, whose percentiles a merged result's must equal to within one of
// Locust's rounding buckets (the reports carry the rounded keys only,
// roundLikeLocust). A request is kept when the report carrying it was
// sent, as totals counts it.
type sampleLog struct {
	mu sync.Mutex
	ms []float64
}

// add keeps the response times of one report's requests.
func (s *sampleLog) add(ms []float64) {
	s.mu.Lock()
	s.ms = append(s.ms, ms...)
	s.mu.Unlock()
}

// len is how many requests it holds.
func (s *sampleLog) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ms)
}

// write writes the response times to path, one a line, in ms, each as
// the shortest decimal that reads back as the same float64.
func (s *sampleLog) write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	b := bufio.NewWriter(f)
	s.mu.Lock()
	var line []byte
	for _, ms := range s.ms {
		line = strconv.AppendFloat(line[:0], ms, 'g', -1, 64)
		b.Write(append(line, '\n'))
	}
	s.mu.Unlock()
	if err := b.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
