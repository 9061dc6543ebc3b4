"""Zelo's composition root: the one package that knows every feature and assembles them into a process
(the HTTP app, the command line, the scheduled jobs, the demo). Features never import it."""
