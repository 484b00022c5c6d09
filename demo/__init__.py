"""`make demo`: start the local stack and play the seed's scenarios through the HTTP API."""
