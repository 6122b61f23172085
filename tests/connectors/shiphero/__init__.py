"""ShipHero connector tests."""
