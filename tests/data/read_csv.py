"""Prints the records of a CSV file as read by Python's csv module (an independent RFC 4180
reader), as one JSON list of lists of fields."""
import csv
import json
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as file:
    print(json.dumps(list(csv.reader(file))))
