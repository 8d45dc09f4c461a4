"""Small helpers the product apps share. Like api/, it imports no product app."""
