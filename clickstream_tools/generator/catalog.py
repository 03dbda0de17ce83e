"""What the simulated shop contains: screens and how users move between them, products, search
terms, traffic sources and install channels.

A small e-commerce app is the one shape every dashboard of the product can say something
about (funnels, paths, revenue, acquisition), so all apps share this catalog; only the names
the SDKs report differ per platform.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT = "exit"


@dataclass(frozen=True)
class Screen:
    key: str
    # Android reports the Activity's simple class name; iOS the view controller's.
    android: str
    ios: str
    # Web: path template and document title ("{category}", "{product}", "{term}" are filled in).
    path: str
    title: str


SCREENS: dict[str, Screen] = {
    s.key: s
    for s in (
        Screen("home", "MainActivity", "HomeViewController", "/", "Home"),
        Screen("category", "CategoryActivity", "CategoryViewController", "/c/{category}", "{category}"),
        Screen("search", "SearchActivity", "SearchViewController", "/search?q={term}", "Search: {term}"),
        Screen("product", "ProductDetailActivity", "ProductDetailViewController", "/p/{product}", "{product_name}"),
        Screen("cart", "CartActivity", "CartViewController", "/cart", "Shopping cart"),
        Screen("checkout", "CheckoutActivity", "CheckoutViewController", "/checkout", "Checkout"),
        Screen("confirmation", "OrderConfirmationActivity", "OrderConfirmationViewController", "/checkout/done", "Order confirmed"),
        Screen("account", "AccountActivity", "AccountViewController", "/account", "My account"),
        Screen("login", "LoginActivity", "LoginViewController", "/login", "Sign in"),
    )
}

# Next-screen weights. The exit weights give sessions of about eight views on average, and the
# cart/checkout weights a purchase in a few percent of sessions, roughly what retail apps see.
TRANSITIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "home": (("category", 30), ("search", 15), ("product", 25), ("account", 5), ("cart", 5), (EXIT, 12)),
    "category": (("product", 55), ("category", 10), ("search", 10), ("home", 5), (EXIT, 12)),
    "search": (("product", 60), ("search", 10), ("home", 5), (EXIT, 15)),
    "product": (("product", 25), ("cart", 15), ("category", 15), ("search", 10), ("home", 5), (EXIT, 18)),
    "cart": (("checkout", 45), ("product", 15), ("home", 10), (EXIT, 30)),
    "checkout": (("confirmation", 70), ("cart", 10), (EXIT, 20)),
    "confirmation": (("home", 30), (EXIT, 70)),
    "account": (("home", 50), ("cart", 10), (EXIT, 40)),
    "login": (("home", 60), ("account", 20), (EXIT, 20)),
}


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    brand: str
    category: str
    category2: str
    price: float


PRODUCTS: tuple[Product, ...] = (
    Product("sku_1001", "Trail Runner 2", "Northpeak", "Shoes", "Running", 89.99),
    Product("sku_1002", "City Sneaker", "Northpeak", "Shoes", "Casual", 64.50),
    Product("sku_1003", "Marathon Pro", "Swiftline", "Shoes", "Running", 139.00),
    Product("sku_1004", "Canvas Low", "Harbor & Co", "Shoes", "Casual", 39.95),
    Product("sku_2001", "Rain Shell Jacket", "Cascade", "Apparel", "Jackets", 119.00),
    Product("sku_2002", "Down Parka", "Cascade", "Apparel", "Jackets", 229.00),
    Product("sku_2003", "Merino Tee", "Harbor & Co", "Apparel", "T-Shirts", 45.00),
    Product("sku_2004", "Graphic Tee", "Swiftline", "Apparel", "T-Shirts", 24.99),
    Product("sku_3001", "Noise-Cancelling Headphones", "Lumen", "Electronics", "Audio", 249.00),
    Product("sku_3002", "Wireless Earbuds", "Lumen", "Electronics", "Audio", 99.00),
    Product("sku_3003", "Fitness Watch", "Pulse", "Electronics", "Wearables", 179.00),
    Product("sku_3004", "Smart Scale", "Pulse", "Electronics", "Wearables", 59.99),
    Product("sku_4001", "Pour-Over Kettle", "Ember", "Homeware", "Kitchen", 54.00),
    Product("sku_4002", "Cast Iron Skillet", "Ember", "Homeware", "Kitchen", 42.00),
    Product("sku_4003", "Linen Throw", "Harbor & Co", "Homeware", "Living", 69.00),
    Product("sku_5001", "The Long Trail", "Meridian Press", "Books", "Outdoors", 18.99),
    Product("sku_5002", "Field Guide to Birds", "Meridian Press", "Books", "Nature", 27.50),
    Product("sku_5003", "Quiet Kitchen", "Meridian Press", "Books", "Cooking", 32.00),
)

CATEGORIES: tuple[str, ...] = tuple(sorted({p.category for p in PRODUCTS}))

SEARCH_TERMS: tuple[str, ...] = (
    "running shoes",
    "rain jacket",
    "headphones",
    "gift",
    "kettle",
    "watch",
    "sale",
    "merino",
    "earbuds",
    "cookbook",
    "parka",
    "sneakers",
)

CURRENCY = "USD"


@dataclass(frozen=True)
class TrafficSource:
    source: str
    medium: str
    campaign: str
    # Where a browser landing from this source says it came from (document.referrer).
    referrer: str
    weight: int


TRAFFIC_SOURCES: tuple[TrafficSource, ...] = (
    TrafficSource("google", "cpc", "spring_sale", "https://www.google.com/", 30),
    TrafficSource("google", "organic", "(organic)", "https://www.google.com/", 25),
    TrafficSource("facebook", "social", "summer_lookbook", "https://m.facebook.com/", 15),
    TrafficSource("newsletter", "email", "weekly_digest", "", 15),
    TrafficSource("tiktok", "paid_social", "creator_launch", "https://www.tiktok.com/", 10),
    TrafficSource("partner_blog", "referral", "gear_review", "https://blog.example.org/best-gear", 5),
)

# Install source (_channel) per mobile platform.
INSTALL_CHANNELS: dict[str, tuple[tuple[str, int], ...]] = {
    "Android": (("google_play", 80), ("samsung_galaxy_store", 8), ("amazon_appstore", 7), ("apk_direct", 5)),
    "iOS": (("app_store", 95), ("testflight", 5)),
}

FIRST_NAMES: tuple[str, ...] = (
    "alex",
    "sam",
    "maria",
    "wei",
    "yuki",
    "priya",
    "lucas",
    "emma",
    "noah",
    "fatima",
    "olivia",
    "mateo",
    "hana",
    "leon",
    "chloe",
    "ravi",
    "sofia",
    "jonas",
    "amara",
    "kenji",
)

MEMBERSHIP_LEVELS: tuple[tuple[str, int], ...] = (("basic", 70), ("silver", 20), ("gold", 10))
