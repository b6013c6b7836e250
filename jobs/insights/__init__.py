"""The read side of the lake for people: views shared by the dashboard and the notebooks."""
