"""What a schema is and whose: the server's own schemas and colleagues' refused (``guard``), the marker that
``activate`` writes first (``marker``), the config hash a schema records (``hash_scheme``), and the schema object that
keeps a lab's class from binding to one of our tables (``class_binding``)."""
