package fakeapps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// SuperHeroesFights is the fights service (rest-fights) of Quarkus Super
// Heroes. Routes, bodies and rules come from its contract,
// rest-fights/src/main/resources/openapi/openapi.yml, served with bean
// validation on (quarkus.openapi.generator.server.use-bean-validation=true in
// rest-fights/src/main/resources/application.properties), and from
// rest-fights/src/main/java/io/quarkus/sample/superheroes/fight/service/FightService.java
// for what a fight returns. Source: quarkusio/quarkus-super-heroes at
// 91d6974f2d1b7e795f51eb94877f6c9106d1d8fb (main; the routes used by a fight
// are the same in tags 3.8.Final to 3.20.Final).
//
// Quarkus answers 405 for a known path with another method and 404 for an
// unknown path, as Go's ServeMux does; a POST whose Content-Type is not JSON
// gets 415, and a missing, malformed or invalid body 400.
type SuperHeroesFights struct {
	// WithoutLocations serves the API as it was before the location service
	// (tags 2.13.Final and 3.2.Final): no /api/fights/randomlocation.
	WithoutLocations bool
	// HeroesWithoutPictures makes the heroes service hand out heroes with an
	// empty picture, as a heroes database that lost its pictures would: a
	// fight posted with such a hero fails Hero's `picture: minLength: 1`.
	HeroesWithoutPictures bool

	once   sync.Once
	mux    *http.ServeMux
	mu     sync.Mutex
	fights map[string][]byte
}

var (
	heroes = []fighterJSON{
		{Name: "Chewbacca", Level: 5, Picture: "https://raw.githubusercontent.com/quarkusio/quarkus-super-heroes/characterdata/images/chewbacca--684239239428094811.jpg", Powers: "Agility, Longevity, Marksmanship, Natural Weapons, Stealth, Super Strength, Weapons Master"},
		{Name: "Luke Skywalker", Level: 16, Picture: "https://raw.githubusercontent.com/quarkusio/quarkus-super-heroes/characterdata/images/luke-skywalker-2563509063968639219.jpg", Powers: "Agility, Cryokinesis, Durability, Electrokinesis, Force Fields"},
	}
	villains = []fighterJSON{
		{Name: "Darth Vader", Level: 13, Picture: "https://raw.githubusercontent.com/quarkusio/quarkus-super-heroes/characterdata/images/anakin-skywalker--8429855148488965479.jpg", Powers: "Accelerated Healing, Agility, Astral Projection, Cloaking"},
		{Name: "Kylo Ren", Level: 11, Picture: "https://raw.githubusercontent.com/quarkusio/quarkus-super-heroes/characterdata/images/ben-solo--1796893478281290795.jpg", Powers: "Agility, Durability, Force Choke"},
	}
	locations = []locationJSON{
		{Name: "Gotham City", Description: "An American city rife with corruption and crime, the home of its iconic protector Batman.", Picture: "https://raw.githubusercontent.com/quarkusio/quarkus-super-heroes/characterdata/images/locations/gotham_city.jpg"},
		{Name: "Tatooine", Description: "A harsh desert world orbiting twin suns in the galaxy's Outer Rim.", Picture: "https://raw.githubusercontent.com/quarkusio/quarkus-super-heroes/characterdata/images/locations/tatooine.jpg"},
	}
	// objectID is a MongoDB ObjectId as `new ObjectId(id)` accepts it.
	objectID = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)
)

// fighterJSON is openapi.yml's Hero and Villain.
type fighterJSON struct {
	Name    string `json:"name"`
	Level   int32  `json:"level"`
	Picture string `json:"picture"`
	Powers  string `json:"powers,omitempty"`
}

// locationJSON is openapi.yml's FightLocation.
type locationJSON struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Picture     string `json:"picture,omitempty"`
}

// ServeHTTP implements http.Handler.
func (s *SuperHeroesFights) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.once.Do(s.routes)
	s.mux.ServeHTTP(w, r)
}

func (s *SuperHeroesFights) routes() {
	s.fights = map[string][]byte{}
	m := http.NewServeMux()
	text := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			writeText(w, http.StatusOK, "text/plain;charset=UTF-8", body)
		}
	}
	m.HandleFunc("GET /api/fights", s.list)
	m.HandleFunc("POST /api/fights", s.perform)
	m.HandleFunc("GET /api/fights/{id}", s.get)
	m.HandleFunc("GET /api/fights/randomfighters", s.randomFighters)
	if !s.WithoutLocations {
		m.HandleFunc("GET /api/fights/randomlocation", func(w http.ResponseWriter, _ *http.Request) {
			b, _ := json.Marshal(locations[rand.IntN(len(locations))])
			writeJSON(w, string(b))
		})
		m.HandleFunc("GET /api/fights/hello/locations", text("Hello FightLocation Resource"))
	}
	m.HandleFunc("GET /api/fights/hello", text("Hello Fight Resource"))
	m.HandleFunc("GET /api/fights/hello/heroes", text("Hello Hero Resource"))
	m.HandleFunc("GET /api/fights/hello/villains", text("Hello Villains Resource"))
	m.HandleFunc("GET /api/fights/hello/narration", text("Hello Narration Resource"))
	m.HandleFunc("POST /api/fights/narrate", s.narrate)
	m.HandleFunc("GET /q/health/live", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, `{"status":"UP","checks":[]}`) })
	s.mux = m
}

// list is getAllFights: every fight, or a page when page or size is given.
// Values that are not integers give 400; out-of-range ones are clamped.
func (s *SuperHeroesFights) list(w http.ResponseWriter, r *http.Request) {
	for _, p := range []string{"page", "size"} {
		if v := r.URL.Query().Get(p); r.URL.Query().Has(p) {
			if _, ok := parseInt32(v); !ok {
				writeText(w, http.StatusBadRequest, "application/json", `{"title":"Bad Request","status":400}`)
				return
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := []json.RawMessage{}
	for _, f := range s.fights {
		all = append(all, f)
	}
	b, _ := json.Marshal(all)
	writeJSON(w, string(b))
}

// get is getFight: 200 with the fight, 404 with no body when there is none.
// An id that is no ObjectId makes `new ObjectId(id)` in
// FightService.findFightById throw, which no exception mapper handles: 500.
func (s *SuperHeroesFights) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !objectID.MatchString(id) {
		writeText(w, http.StatusInternalServerError, "text/plain", "Internal Server Error")
		return
	}
	s.mu.Lock()
	f, ok := s.fights[id]
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, string(f))
}

// randomFighters is getRandomFighters: a random hero and villain, never an
// error (the service falls back to "Fallback hero"/"Fallback villain").
func (s *SuperHeroesFights) randomFighters(w http.ResponseWriter, _ *http.Request) {
	hero, villain := heroes[rand.IntN(len(heroes))], villains[rand.IntN(len(villains))]
	if s.HeroesWithoutPictures {
		hero.Picture = ""
	}
	b, _ := json.Marshal(map[string]fighterJSON{"hero": hero, "villain": villain})
	writeJSON(w, string(b))
}

// perform is performFight: a FightRequest (hero and villain required, each
// with name, level and picture; location optional) in, the Fight out.
func (s *SuperHeroesFights) perform(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		writeText(w, http.StatusUnsupportedMediaType, "text/plain", "")
		return
	}
	var req map[string]json.RawMessage
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	if err := json.Unmarshal(body.Bytes(), &req); err != nil || req == nil {
		// No body, `null`, or JSON that is no object.
		writeViolation(w, "performFight.fightRequest", "must not be null")
		return
	}
	hero, herr := fighter(req["hero"], "hero")
	villain, verr := fighter(req["villain"], "villain")
	for _, err := range []error{herr, verr} {
		if err != nil {
			writeViolation(w, "performFight.fightRequest."+err.Error(), "must not be null or empty")
			return
		}
	}
	var location *locationJSON
	if raw, ok := req["location"]; ok && string(raw) != "null" {
		location = new(locationJSON)
		if err := json.Unmarshal(raw, location); err != nil {
			writeText(w, http.StatusBadRequest, "application/json", `{"title":"Bad Request","status":400}`)
			return
		}
	}

	fight := determineWinner(hero, villain, location)
	b, _ := json.Marshal(fight)
	s.mu.Lock()
	s.fights[fight.ID] = b
	s.mu.Unlock()
	writeJSON(w, string(b))
}

// fighter checks one Hero or Villain against openapi.yml: an object with
// name (minLength 1), level (int32) and picture (minLength 1); powers is an
// optional string. The error names the field, as a violation would.
func fighter(raw json.RawMessage, field string) (fighterJSON, error) {
	var f map[string]json.RawMessage
	if raw == nil || json.Unmarshal(raw, &f) != nil || f == nil {
		return fighterJSON{}, fmt.Errorf("%s", field)
	}
	var out fighterJSON
	for _, name := range []string{"name", "picture"} {
		var v string
		if json.Unmarshal(f[name], &v) != nil || v == "" {
			return fighterJSON{}, fmt.Errorf("%s.%s", field, name)
		}
		if name == "name" {
			out.Name = v
		} else {
			out.Picture = v
		}
	}
	if json.Unmarshal(f["level"], &out.Level) != nil {
		return fighterJSON{}, fmt.Errorf("%s.level", field)
	}
	if p, ok := f["powers"]; ok && string(p) != "null" && json.Unmarshal(p, &out.Powers) != nil {
		return fighterJSON{}, fmt.Errorf("%s.powers", field)
	}
	return out, nil
}

// fightJSON is openapi.yml's Fight.
type fightJSON struct {
	ID            string        `json:"id"`
	FightDate     time.Time     `json:"fightDate"`
	WinnerName    string        `json:"winnerName"`
	WinnerLevel   int32         `json:"winnerLevel"`
	WinnerPowers  string        `json:"winnerPowers"`
	WinnerPicture string        `json:"winnerPicture"`
	WinnerTeam    string        `json:"winnerTeam"`
	LoserName     string        `json:"loserName"`
	LoserLevel    int32         `json:"loserLevel"`
	LoserPowers   string        `json:"loserPowers"`
	LoserPicture  string        `json:"loserPicture"`
	LoserTeam     string        `json:"loserTeam"`
	Location      *locationJSON `json:"location,omitempty"`
}

// determineWinner follows FightService.determineWinner: the hero wins when
// its level plus a roll of 20 beats the villain's, else the higher level
// wins, else a coin flip. Teams are FightConfig's defaults.
func determineWinner(hero, villain fighterJSON, location *locationJSON) fightJSON {
	heroWins := hero.Level+rand.Int32N(20) > villain.Level+rand.Int32N(20)
	if !heroWins && hero.Level >= villain.Level {
		heroWins = hero.Level > villain.Level || rand.IntN(2) == 0
	}
	winner, loser, winTeam, loseTeam := hero, villain, "heroes", "villains"
	if !heroWins {
		winner, loser, winTeam, loseTeam = villain, hero, "villains", "heroes"
	}
	return fightJSON{
		ID: fmt.Sprintf("%024x", rand.Uint64()), FightDate: time.Now().UTC(),
		WinnerName: winner.Name, WinnerLevel: winner.Level, WinnerPowers: winner.Powers, WinnerPicture: winner.Picture, WinnerTeam: winTeam,
		LoserName: loser.Name, LoserLevel: loser.Level, LoserPowers: loser.Powers, LoserPicture: loser.Picture, LoserTeam: loseTeam,
		Location: location,
	}
}

// narrate is narrateFight: a FightToNarrate whose team, name and powers
// fields are required with minLength 1; the narration comes back as text.
func (s *SuperHeroesFights) narrate(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		writeText(w, http.StatusUnsupportedMediaType, "text/plain", "")
		return
	}
	var f map[string]json.RawMessage
	if json.NewDecoder(r.Body).Decode(&f) != nil || f == nil {
		writeViolation(w, "narrateFight.fightToNarrate", "must not be null")
		return
	}
	for _, field := range []string{"winnerTeam", "winnerName", "winnerPowers", "loserTeam", "loserName", "loserPowers"} {
		var v string
		if json.Unmarshal(f[field], &v) != nil || v == "" {
			writeViolation(w, "narrateFight.fightToNarrate."+field, "must not be blank")
			return
		}
	}
	writeText(w, http.StatusOK, "text/plain;charset=UTF-8", "It was a fight to remember.")
}

// writeViolation is the body Quarkus' Hibernate Validator extension sends for
// a constraint violation, with its `validation-exception` header.
func writeViolation(w http.ResponseWriter, field, message string) {
	w.Header().Set("validation-exception", "true")
	b, _ := json.Marshal(map[string]any{
		"title": "Constraint Violation", "status": 400,
		"violations": []map[string]string{{"field": field, "message": message}},
	})
	writeText(w, http.StatusBadRequest, "application/json", string(b))
}

// parseInt32 reads a JAX-RS int query parameter.
func parseInt32(s string) (int32, bool) {
	var n int32
	_, err := fmt.Sscanf(s, "%d", &n)
	return n, err == nil && fmt.Sprint(n) == s
}
