"""Reddit posts and comments: landed fetches -> bronze (every fetch) -> silver (one row per id)."""
