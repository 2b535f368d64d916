"""Helpers shared by the test modules (model generators and the like); not tests themselves."""
