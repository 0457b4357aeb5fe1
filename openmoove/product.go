package openmoove

// Price is a product's price.
type Price struct {
	Amount   Decimal `json:"amount"`
	Currency string  `json:"currency"` // ISO 4217, "GBP"
}

// Product is one entry of GET /products/.
type Product struct {
	Name        string `json:"name"`
	Slug        string `json:"slug"` // what CreateClientRequest.Products lists
	Description string `json:"description"`
	Price       Price  `json:"price"`
}

// ProductList is the answer of GET /products/.
type ProductList struct {
	Count   int       `json:"count"`
	Results []Product `json:"results"`
}

// ProductMooveReadyPack is the one product the API sells today (free, GBP).
const ProductMooveReadyPack = "moove-ready-pack"

// KnownProducts lists the product slugs ValidateCreate accepts.
var KnownProducts = []string{ProductMooveReadyPack}
