"""Documents that go with wholesale shipments: SSCC carton numbers, labels, packing slips,
invoices."""
