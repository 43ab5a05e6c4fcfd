"""Queries a SPARQL 1.1 Protocol endpoint with clients that are not kgrec's own (SPARQLWrapper and
rdflib's SPARQLStore, from PyPI) and prints what they understood, as one JSON object, for
tests/integration/sparql_client.rs to compare with `kgrec sparql`.

Usage: sparql_client.py ENDPOINT SELECT_QUERY ASK_QUERY CONSTRUCT_QUERY
"""

import csv
import io
import json
import sys

import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper


def wrapper(endpoint, query, fmt, method="GET"):
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client.query()


def rows_from_json(answer):
    return [
        {var: cell["value"] for var, cell in row.items()}
        for row in answer["results"]["bindings"]
    ]


def main():
    endpoint, select, ask, construct = sys.argv[1:5]
    out = {}
    # SELECT, JSON results, by GET and by POST (SPARQLWrapper posts a form).
    out["select_json_get"] = rows_from_json(wrapper(endpoint, select, JSON).convert())
    out["select_json_post"] = rows_from_json(
        wrapper(endpoint, select, JSON, method="POST").convert()
    )
    # SELECT, XML results, parsed by SPARQLWrapper into a DOM.
    dom = wrapper(endpoint, select, XML).convert()
    xml_rows = []
    for result in dom.getElementsByTagName("result"):
        row = {}
        for binding in result.getElementsByTagName("binding"):
            value = binding.firstChild
            while value is not None and value.nodeType != value.ELEMENT_NODE:
                value = value.nextSibling
            row[binding.getAttribute("name")] = "".join(
                n.data for n in value.childNodes if n.nodeType == n.TEXT_NODE
            )
        xml_rows.append(row)
    out["select_xml"] = xml_rows
    # SELECT, CSV results.
    text = wrapper(endpoint, select, CSV).convert().decode("utf-8")
    out["select_csv"] = [dict(r) for r in csv.DictReader(io.StringIO(text))]
    # rdflib's SPARQLStore: a read-only graph backed by the endpoint.
    graph = rdflib.Graph(store=SPARQLStore(endpoint, returnFormat="xml"))
    out["select_rdflib"] = [
        {str(var): str(row[var]) for var in row.labels if row[var] is not None}
        for row in graph.query(select)
    ]
    # ASK.
    out["ask"] = wrapper(endpoint, ask, JSON).convert()["boolean"]
    # CONSTRUCT, as Turtle, parsed by rdflib.
    turtle = wrapper(endpoint, construct, TURTLE).convert()
    constructed = rdflib.Graph()
    constructed.parse(data=turtle, format="turtle")
    out["construct"] = sorted(
        [s.n3(), p.n3(), o.n3()] for s, p, o in constructed
    )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
