"""The shop's products, their prices over time, and the pages of its web site."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .columns import concat, pick, vocab, zero_pad
from .draws import hash_uniform, rng_for

SHOP_URL = "https://shop.example.com"

CATEGORIES = ("apparel", "footwear", "home", "beauty", "electronics", "outdoor")
CATEGORY_NOUNS = (
    ("T-Shirt", "Hoodie", "Jacket", "Jeans", "Sweater"),
    ("Sneakers", "Boots", "Sandals", "Loafers"),
    ("Mug", "Candle", "Throw Blanket", "Lamp", "Cushion"),
    ("Face Cream", "Lip Balm", "Shampoo", "Serum"),
    ("Headphones", "Speaker", "Charger", "Smartwatch"),
    ("Backpack", "Water Bottle", "Tent", "Rain Jacket"),
)
CATEGORY_MEDIAN_USD = np.array([35.0, 80.0, 25.0, 18.0, 90.0, 45.0])
ADJECTIVES = ("Classic", "Everyday", "Premium", "Organic", "Urban", "Vintage",
              "Lightweight", "Cozy", "Essential", "Pro")
COLOURS = ("Black", "White", "Navy", "Olive", "Sand", "Red", "Grey")
PAGES = ("/", "/sale", "/new-arrivals", "/gift-guide", "/about", "/blog/care-guide",
         "/category/apparel", "/category/footwear", "/category/home", "/category/beauty",
         "/category/electronics", "/category/outdoor")
SEARCH_TERMS = ("hoodie", "running+shoes", "gift", "candle", "black+jeans", "headphones",
                "backpack", "sale", "face+cream", "tent")


class Catalogue:
    """World's products: ids, names, categories, prices, popularity, and page URLs. A
    part of ``World``: it uses ``self.seed``, ``self.start`` and ``self.n_base``."""

    def _build_catalogue(self) -> None:
        rng = rng_for(self.seed, self.start.toordinal(), "products/catalogue")
        n = int(np.clip(200 + self.n_base // 500, 200, 5000))
        self.n_products = n
        category = rng.integers(0, len(CATEGORIES), n)
        noun_idx = (rng.random(n) * np.array([len(x) for x in CATEGORY_NOUNS])[category]).astype(int)
        nouns = [noun for nouns in CATEGORY_NOUNS for noun in nouns]
        noun_offset = np.cumsum([0] + [len(x) for x in CATEGORY_NOUNS])[:-1]
        self.product_id = concat("P", zero_pad(np.arange(1, n + 1), 5))
        self.product_name = concat(pick(ADJECTIVES, rng.integers(0, len(ADJECTIVES), n)), " ",
                                   pick(COLOURS, rng.integers(0, len(COLOURS), n)), " ",
                                   pick(nouns, noun_offset[category] + noun_idx))
        self.product_category = pick(CATEGORIES, category)
        self.base_price_usd = CATEGORY_MEDIAN_USD[category] * rng.lognormal(0, 0.6, n)
        self.price_period = rng.integers(45, 181, n)
        self.price_phase = (rng.random(n) * self.price_period).astype(np.int64)
        weights = 1.0 / np.arange(1, n + 1) ** 0.9
        weights = weights[rng.permutation(n)]
        self.popularity = weights / weights.sum()
        # Every page URL the site has: pages, searches, fixed paths per event type, products.
        fixed = ("", "", "/cart", "/checkout", "/account/login", "")
        parts = [vocab(SHOP_URL + page for page in PAGES),
                 vocab(f"{SHOP_URL}/search?q={term}" for term in SEARCH_TERMS),
                 vocab(SHOP_URL + path for path in fixed),
                 concat(f"{SHOP_URL}/products/", self.product_id)]
        self.url_page, self.url_search, self.url_fixed, self.url_product = np.cumsum(
            [0] + [len(part) for part in parts[:-1]])
        self.web_urls = pa.concat_arrays(parts)
        premium = weights * self.base_price_usd
        self.popularity_premium = premium / premium.sum()

    def price_cents(self, product: np.ndarray, day: int) -> np.ndarray:
        """List price (USD cents, ending in .99) of products on a day."""
        period = (day + self.price_phase[product]) // self.price_period[product]
        factor = np.where(period == 0, 1.0,
                          0.85 + 0.3 * hash_uniform(np.full(product.shape, self.seed), product, period))
        dollars = np.maximum(1, np.round(self.base_price_usd[product] * factor)).astype(np.int64)
        return dollars * 100 - 1
