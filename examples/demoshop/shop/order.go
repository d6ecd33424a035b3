package shop

import (
	"fmt"
	"sync"
	"time"
)

// Product is something the shop sells; prices are whole KRW.
type Product struct {
	ID, Name string
	Price    int64
}

var catalogue = []Product{
	{ID: "tea-01", Name: "녹차 Green tea", Price: 5000},
	{ID: "coffee-01", Name: "드립 커피 Drip coffee", Price: 4500},
	{ID: "mug-01", Name: "머그컵 Mug", Price: 12000},
}

func product(id string) (Product, bool) {
	for _, p := range catalogue {
		if p.ID == id {
			return p, true
		}
	}
	return Product{}, false
}

// Status is where an order stands, as the shop sees it.
type Status string

// An order only moves forward through these, in this order; the last three
// are final.
const (
	StatusAwaiting        Status = "awaiting" // registered: the user is in the payment window
	StatusPending         Status = "pending"  // billed, outcome unknown: TUNA is resolving it
	StatusPaid            Status = "paid"     // charged
	StatusPartlyCancelled Status = "partially_cancelled"
	StatusCancelled       Status = "cancelled"
	StatusRefunded        Status = "refunded"
	StatusFailed          Status = "failed" // Order.Code says why
)

var rank = map[Status]int{
	StatusAwaiting: 0, StatusPending: 1, StatusPaid: 2, StatusPartlyCancelled: 3,
	StatusCancelled: 4, StatusRefunded: 4, StatusFailed: 4,
}

// advances reports whether an order in status s may move to next. Webhooks
// can arrive late and out of order: an older status never undoes a newer one.
func (s Status) advances(next Status) bool {
	return rank[s] < 4 && rank[next] >= rank[s]
}

// Order is one purchase.
type Order struct {
	ID         string
	Product    Product
	TID        string // TUNA's transaction, from cp_auth
	PayURL     string
	Status     Status
	Code       string // why it failed
	CancelCode string // why the last cancel was refused
}

// book is the shop's order table: a database, in a real shop.
type book struct {
	mu     sync.Mutex
	last   int64
	orders map[string]*Order
	tids   map[string]string // TID → order id
	hooks  map[string]bool   // webhook-ids already processed (a real shop expires them after days)
}

func newBook() *book {
	return &book{orders: map[string]*Order{}, tids: map[string]string{}, hooks: map[string]bool{}}
}

// add records a new order. TUNA refuses an ORDER_ID it already has paid, so
// numbers start from the clock: a restarted shop does not reuse one.
func (b *book) add(p Product) Order {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = max(b.last+1, time.Now().Unix())
	o := &Order{ID: fmt.Sprintf("order-%d", b.last), Product: p, Status: StatusAwaiting}
	b.orders[o.ID] = o
	return *o
}

func (b *book) get(id string) (Order, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[id]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

func (b *book) byTID(tid string) (Order, bool) {
	b.mu.Lock()
	id, ok := b.tids[tid]
	b.mu.Unlock()
	if !ok {
		return Order{}, false
	}
	return b.get(id)
}

func (b *book) registered(id, tid, payURL string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.orders[id].TID, b.orders[id].PayURL = tid, payURL
	b.tids[tid] = id
}

// set moves order id to status s (with code, for a failure) if that is a
// step forward.
func (b *book) set(id string, s Status, code string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.orders[id]
	if o == nil || !o.Status.advances(s) {
		return
	}
	o.Status, o.Code = s, code
	if s == StatusFailed && code == "" {
		o.Code = "FAIL"
	}
}

func (b *book) cancelRefused(id, code string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.orders[id].CancelCode = code
}

// firstDelivery reports whether webhook-id is new, and remembers it.
func (b *book) firstDelivery(webhookID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hooks[webhookID] {
		return false
	}
	b.hooks[webhookID] = true
	return true
}
