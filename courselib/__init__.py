"""Code that lectures, assignments and tests share: data, seeding, small plotting helpers.

Every unit imports from here instead of copying helpers between notebooks.
"""
