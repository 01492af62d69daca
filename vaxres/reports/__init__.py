"""Reports on the store as a whole: utilisation figures and the HTML page made from them."""
