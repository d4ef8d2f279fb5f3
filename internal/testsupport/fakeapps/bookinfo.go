package fakeapps

import (
	"encoding/json"
	"html"
	"net/http"
	"strconv"
	"sync"
)

// BookinfoProductPage is Istio Bookinfo's productpage, the Flask app of
// samples/bookinfo/src/productpage/productpage.py with its template
// templates/productpage.html (istio/istio at 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c;
// both files unchanged from 1.28.0 to 1.31). Its backends (details, reviews,
// ratings) are simulated in-process; the Down fields break them.
//
// The page itself never fails: /productpage answers 200 even when a backend
// is down, and says so in the HTML ("Error fetching product details" and the
// backend's error text). The /api/v1 routes pass the backend's status through.
// Flask answers 405 to a known path with another method and 404 to an unknown
// path, as Go's ServeMux does.
type BookinfoProductPage struct {
	// DetailsDown, ReviewsDown and RatingsDown make that backend answer 503.
	DetailsDown, ReviewsDown, RatingsDown bool

	once sync.Once
	mux  *http.ServeMux
}

// Error texts of productpage.py's getProductDetails, getProductReviews and
// getProductRatings, and of the reviews service when ratings are down
// (samples/bookinfo/src/reviews/reviews-application/src/main/java/application/rest/LibertyRestEndpoint.java).
const (
	detailsUnavailable    = "Sorry, product details are currently unavailable for this book."
	reviewsUnavailable    = "Sorry, product reviews are currently unavailable for this book."
	ratingsUnavailable    = "Sorry, product ratings are currently unavailable for this book."
	ratingsServiceMissing = "Ratings service is currently unavailable"
)

// ServeHTTP implements http.Handler.
func (b *BookinfoProductPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.once.Do(b.routes)
	b.mux.ServeHTTP(w, r)
}

func (b *BookinfoProductPage) routes() {
	m := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		writeText(w, http.StatusOK, "text/html; charset=utf-8", body)
	}
	index := func(w http.ResponseWriter, _ *http.Request) {
		page(w, `<!DOCTYPE html><html><head><title>Simple Bookstore App</title></head><body>`+
			`<a href="/productpage?u=normal">Normal user</a> <a href="/productpage?u=test">Test user</a></body></html>`)
	}
	m.HandleFunc("GET /{$}", index)
	m.HandleFunc("GET /index.html", index)
	m.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		page(w, "Product page is healthy")
	})
	// login and logout redirect to the Referer; productpage.py keeps the
	// user in Flask's signed session cookie.
	m.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "user=" + r.FormValue("username"), Path: "/", HttpOnly: true})
		http.Redirect(w, r, r.Referer(), http.StatusFound)
	})
	m.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "", Path: "/", MaxAge: -1})
		http.Redirect(w, r, r.Referer(), http.StatusFound)
	})
	m.HandleFunc("GET /productpage", b.productPage)
	m.HandleFunc("GET /api/v1/products", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, `[{"id": 0, "title": "The Comedy of Errors", "descriptionHtml": "<a href=\"https://en.wikipedia.org/wiki/The_Comedy_of_Errors\">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare's</b> early plays."}]`)
	})
	m.HandleFunc("GET /api/v1/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		status, body := b.details(r.PathValue("id"))
		writeStatusJSON(w, status, body)
	})
	m.HandleFunc("GET /api/v1/products/{id}/reviews", func(w http.ResponseWriter, r *http.Request) {
		status, body := b.reviews(r.PathValue("id"))
		writeStatusJSON(w, status, body)
	})
	m.HandleFunc("GET /api/v1/products/{id}/ratings", func(w http.ResponseWriter, r *http.Request) {
		status, body := b.ratings(r.PathValue("id"))
		writeStatusJSON(w, status, body)
	})
	m.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", "# HELP request_result_total Request result\n")
	})
	b.mux = m
}

// productPage renders productpage.html for product 0: the details table or
// "Error fetching product details" with the error, the reviews (each with its
// stars, or the reviews service's rating error) or "Error fetching product
// reviews" with the error. Always 200: render_template is given no status.
func (b *BookinfoProductPage) productPage(w http.ResponseWriter, _ *http.Request) {
	out := `<!DOCTYPE html><html><head><title>Simple Bookstore App</title></head><body>` +
		`<h1>The Comedy of Errors</h1>`
	if status, details := b.details("0"); status == http.StatusOK {
		out += `<h4>Book Details</h4><table><tr><td>` + html.EscapeString(details["ISBN-10"].(string)) + `</td><td>PublisherA</td><td>200</td><td>paperback</td><td>English</td></tr></table>`
	} else {
		out += `<p>Error fetching product details</p><p>` + html.EscapeString(details["error"].(string)) + `</p>`
	}
	if status, reviews := b.reviews("0"); status == http.StatusOK {
		out += `<h4>Book Reviews</h4>`
		for _, rv := range reviews["reviews"].([]map[string]any) {
			out += `<p>"` + html.EscapeString(rv["text"].(string)) + `"</p><div>` + html.EscapeString(rv["reviewer"].(string)) + `</div>`
			if rating, ok := rv["rating"].(map[string]any); ok {
				if e, ok := rating["error"].(string); ok {
					out += `<p class="text-red-500">` + html.EscapeString(e) + `</p>`
				} else {
					out += `<div class="text-black-500">` + strconv.Itoa(rating["stars"].(int)) + ` stars</div>`
				}
			}
		}
	} else {
		out += `<p>Error fetching product reviews</p><p>` + html.EscapeString(reviews["error"].(string)) + `</p>`
	}
	writeText(w, http.StatusOK, "text/html; charset=utf-8", out+`</body></html>`)
}

// details is the details service (samples/bookinfo/src/details/details.rb)
// as productpage passes it on: 400 for an id that is not a number.
func (b *BookinfoProductPage) details(id string) (int, map[string]any) {
	if b.DetailsDown {
		return http.StatusServiceUnavailable, map[string]any{"error": detailsUnavailable}
	}
	if _, err := strconv.Atoi(id); err != nil {
		return http.StatusBadRequest, map[string]any{"error": detailsUnavailable}
	}
	return http.StatusOK, map[string]any{
		"id": id, "author": "William Shakespeare", "year": 1595, "type": "paperback", "pages": 200,
		"publisher": "PublisherA", "language": "English", "ISBN-10": "1234567890", "ISBN-13": "123-1234567890",
	}
}

// reviews is the reviews service (v2: with black stars) as productpage
// passes it on. Its productId is a JAX-RS int path parameter, so a non-number
// is a 404. With ratings down, each review carries the ratings error.
func (b *BookinfoProductPage) reviews(id string) (int, map[string]any) {
	if b.ReviewsDown {
		return http.StatusServiceUnavailable, map[string]any{"error": reviewsUnavailable}
	}
	if _, err := strconv.Atoi(id); err != nil {
		return http.StatusNotFound, map[string]any{"error": reviewsUnavailable}
	}
	rating := func(stars int) map[string]any {
		if b.RatingsDown {
			return map[string]any{"error": ratingsServiceMissing}
		}
		return map[string]any{"stars": stars, "color": "black"}
	}
	return http.StatusOK, map[string]any{"id": id, "podname": "reviews-v2", "clustername": "null", "reviews": []map[string]any{
		{"reviewer": "Reviewer1", "text": "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!", "rating": rating(5)},
		{"reviewer": "Reviewer2", "text": "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.", "rating": rating(4)},
	}}
}

// ratings is the ratings service (samples/bookinfo/src/ratings/ratings.js)
// as productpage passes it on: 400 for an id that is not a number.
func (b *BookinfoProductPage) ratings(id string) (int, map[string]any) {
	if _, err := strconv.Atoi(id); err != nil {
		return http.StatusBadRequest, map[string]any{"error": ratingsUnavailable}
	}
	if b.RatingsDown {
		return http.StatusServiceUnavailable, map[string]any{"error": ratingsUnavailable}
	}
	return http.StatusOK, map[string]any{"id": id, "ratings": map[string]int{"Reviewer1": 5, "Reviewer2": 4}}
}

func writeStatusJSON(w http.ResponseWriter, status int, body map[string]any) {
	b, _ := json.Marshal(body)
	writeText(w, status, "application/json", string(b))
}
